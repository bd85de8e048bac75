//! File input and atomic output.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::failure::Failure;

/// Reads a whole input file; a missing or unreadable file is bad input.
pub fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display())).map_err(Failure::bad_input)
}

/// Writes `contents` to `path` through a temporary file in the same folder
/// and a rename, so a reader never sees a half-written file and a failure
/// leaves nothing behind.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    write_atomically_with(path, |file| Ok(file.write_all(contents)?))
}

/// [`write_atomically`] for output written piece by piece into `write`.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&fs::File>) -> anyhow::Result<()>,
) -> Result<(), Failure> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let file = fs::File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, &file);
        write(&mut buffered).with_context(|| format!("cannot write {}", temp.display()))?;
        buffered.flush().with_context(|| format!("cannot write {}", temp.display()))?;
        drop(buffered);
        file.sync_all().with_context(|| format!("cannot sync {}", temp.display()))?;
        fs::rename(&temp, path).with_context(|| format!("cannot move {} to {}", temp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(Failure::internal)
}

/// Writes to `path` atomically, or to standard output when there is none.
pub fn write_output(path: Option<&Path>, contents: &[u8]) -> Result<(), Failure> {
    match path {
        Some(path) => write_atomically(path, contents),
        None => std::io::stdout()
            .lock()
            .write_all(contents)
            .context("cannot write to standard output")
            .map_err(Failure::internal),
    }
}
