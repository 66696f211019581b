//! Start-up files (the SQL file, the CA bundle) read with a bound: only regular files (a FIFO
//! or a device such as /dev/zero would block or never end), at most a given size, as UTF-8.

use std::io::Read;
use std::path::Path;

/// Reads `path` whole if it is a regular file of at most `limit` bytes of UTF-8.
pub fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    // stat before open: opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a directory, FIFO or device cannot be read at start-up)",
        ));
    }
    if meta.len() > limit {
        return Err(too_large(meta.len(), limit));
    }
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    // The size can change while reading: never more than the limit.
    file.take(limit + 1).read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(too_large(text.len() as u64, limit));
    }
    Ok(text)
}

fn too_large(size: u64, limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{size} bytes, more than the {limit} bytes this file may have"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files() {
        let dir = std::env::temp_dir().join(format!("pgcj-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.sql");
        std::fs::write(&f, "SELECT 1;").unwrap();
        assert_eq!(read_text(&f, 100).unwrap(), "SELECT 1;");
        let e = read_text(&f, 4).unwrap_err().to_string();
        assert!(e.contains("9 bytes") && e.contains("4 bytes"), "{e}");
        let e = read_text(Path::new("/dev/zero"), 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read_text(&dir, 100).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
