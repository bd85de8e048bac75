import { useCallback, useState } from 'react';

/** A set of ids (e.g. the opened rows of a table) and a function that adds or removes one. */
export function useToggleSet<K = number>(): [ReadonlySet<K>, (id: K) => void] {
  const [set, setSet] = useState<ReadonlySet<K>>(new Set<K>());
  const toggle = useCallback(
    (id: K) =>
      setSet((current) => {
        const next = new Set(current);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    [],
  );
  return [set, toggle];
}
