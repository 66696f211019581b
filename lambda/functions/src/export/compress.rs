//! The export's compression, on as many threads as the function has: the rows are cut into
//! blocks of [`BLOCK`] bytes, each block is compressed on its own into an independent gzip member
//! or zstd frame (as pigz does), and the compressed blocks are handed on in order. A
//! concatenation of gzip members is one valid gzip stream (RFC 1952, section 2.2), and of zstd
//! frames one valid zstd stream (RFC 8878, section 3.1), for gunzip, zstd, Athena, Spark and
//! Redshift COPY alike. At most `threads` blocks are being compressed at a time, so memory does
//! not grow with the export.

use std::collections::VecDeque;
use std::io::Write;

use thiserror::Error;
use tokio::task::JoinHandle;

use super::settings::Compression;

/// Uncompressed bytes per block.
pub const BLOCK: usize = 1024 * 1024;

/// Why a block could not be compressed.
#[derive(Debug, Error)]
pub enum CompressError {
    #[error("{0}: {1}")]
    Codec(&'static str, std::io::Error),
    #[error("the compression thread stopped: {0}")]
    Thread(String),
}

/// One block compressed on its own: a complete gzip member or zstd frame (`None`: as it is).
pub fn compress_block(
    compression: Compression,
    level: u32,
    block: &[u8],
) -> Result<Vec<u8>, CompressError> {
    match compression {
        Compression::None => Ok(block.to_vec()),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(block.len() / 3 + 64),
                flate2::Compression::new(level),
            );
            gz.write_all(block)
                .and_then(|()| gz.finish())
                .map_err(|e| CompressError::Codec("gzip", e))
        }
        Compression::Zstd => {
            let level = i32::try_from(level).unwrap_or(3);
            zstd::bulk::compress(block, level).map_err(|e| CompressError::Codec("zstd", e))
        }
    }
}

/// Blocks being compressed, oldest first.
pub struct Pool {
    compression: Compression,
    level: u32,
    threads: usize,
    running: VecDeque<JoinHandle<Result<Vec<u8>, CompressError>>>,
}

impl Pool {
    pub fn new(compression: Compression, level: u32, threads: usize) -> Self {
        Pool {
            compression,
            level,
            threads: threads.max(1),
            running: VecDeque::new(),
        }
    }

    /// Whether another block can start without waiting for one to finish.
    pub fn has_room(&self) -> bool {
        self.running.len() < self.threads
    }

    /// Starts compressing `block` on a thread of its own (call when [`Pool::has_room`]).
    pub fn start(&mut self, block: Vec<u8>) {
        let (compression, level) = (self.compression, self.level);
        self.running.push_back(tokio::task::spawn_blocking(move || {
            compress_block(compression, level, &block)
        }));
    }

    /// Whether the oldest block is compressed (so [`Pool::next`] returns at once).
    pub fn oldest_done(&self) -> bool {
        self.running.front().is_some_and(JoinHandle::is_finished)
    }

    /// The oldest block, compressed (waits for it); `None` when nothing is running.
    pub async fn next(&mut self) -> Option<Result<Vec<u8>, CompressError>> {
        let oldest = self.running.pop_front()?;
        Some(match oldest.await {
            Ok(result) => result,
            Err(e) => Err(CompressError::Thread(e.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{i},row {i},{}\n", i % 7).into_bytes())
            .collect()
    }

    #[test]
    fn concatenated_blocks_are_one_valid_stream() {
        let data = sample(200_000);
        for compression in [Compression::Gzip, Compression::Zstd] {
            let joined: Vec<u8> = data
                .chunks(BLOCK / 4)
                .flat_map(|b| compress_block(compression, compression.default_level(), b).unwrap())
                .collect();
            assert!(joined.len() < data.len() / 3, "{compression:?} compresses");
            let mut back = Vec::new();
            match compression {
                Compression::Gzip => {
                    flate2::read::MultiGzDecoder::new(&joined[..])
                        .read_to_end(&mut back)
                        .unwrap();
                }
                _ => {
                    back = zstd::stream::decode_all(&joined[..]).unwrap();
                }
            }
            assert_eq!(back, data, "{compression:?}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn blocks_come_back_in_order_with_bounded_concurrency() {
        let mut pool = Pool::new(Compression::Gzip, 1, 2);
        let blocks: Vec<Vec<u8>> = (0..6).map(|i| sample(1000 + i * 5000)).collect();
        let mut out = Vec::new();
        for block in &blocks {
            while !pool.has_room() {
                out.push(pool.next().await.unwrap().unwrap());
            }
            assert!(pool.running.len() < 2);
            pool.start(block.clone());
        }
        while let Some(done) = pool.next().await {
            out.push(done.unwrap());
        }
        for (compressed, block) in out.iter().zip(&blocks) {
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&compressed[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(&back, block);
        }
    }
}
