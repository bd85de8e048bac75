import { useEffect, useState } from 'react';

/** A symbol box: applied on Enter, on blur, or after a short pause in typing. */
export function SymbolFilter(props: { value: string; onChange: (symbol: string) => void; symbols?: string[]; testid?: string; id: string }) {
  const [text, setText] = useState(props.value);
  const { onChange, value } = props;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    const cleaned = text.trim().toUpperCase();
    if (cleaned === value) return;
    const t = setTimeout(() => onChange(cleaned), 500);
    return () => clearTimeout(t);
  }, [text, value, onChange]);
  return (
    <label className="filter">
      <span>Symbol</span>
      <input
        type="search"
        list={`${props.id}-symbols`}
        value={text}
        placeholder="all"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onChange(text.trim().toUpperCase());
        }}
        data-testid={props.testid}
        size={8}
        spellCheck={false}
        autoCapitalize="characters"
      />
      <datalist id={`${props.id}-symbols`}>
        {(props.symbols ?? []).map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
    </label>
  );
}

/** The instruments the engine trades (for filter suggestions). */
export const KNOWN_SYMBOLS = ['MNQ', 'MES', 'M2K', 'MCL', 'MGC', 'TQQQ', 'SOXL', 'SPY', 'QQQ'];
