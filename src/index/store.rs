//! The generations on disk: `CURRENT` names the one in use; each `gen-*`
//! folder holds tantivy's files, and a manifest (written last, so its presence
//! marks the generation complete) recording the corpus it was built from,
//! which decides when the index is stale. Old and abandoned generations are
//! cleaned up here, and a generation's files are checked against their checksums.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::corpus::{self, FileStamp};
use crate::Error;

pub(crate) const CURRENT: &str = "CURRENT";
pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const LEXICON: &str = "lexicon.json";
/// The spelling dictionary: every surface word of the corpus and its section titles, but words with digits.
pub(crate) const VOCABULARY: &str = "vocabulary.fst";
pub(crate) const GENERATION_PREFIX: &str = "gen-";
/// An unfinished generation older than this is a killed build's leftover.
const ABANDONED_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub generation: String,
    pub built_at_unix: u64,
    pub passages: usize,
    pub files: Vec<FileStamp>,
    /// The title of each of `files` (empty for the synonym file). A passage
    /// stores its file's number, not these strings: on a corpus of many small
    /// files they were as many bytes as the passages' own text.
    #[serde(default)]
    pub titles: Vec<String>,
    /// Threads the build read and indexed the corpus on.
    #[serde(default)]
    pub threads: usize,
    /// The web address of each of `files`, if its document has one.
    #[serde(default)]
    pub urls: Vec<Option<String>>,
    /// Which of `files` are PDFs, whose passages are placed by page.
    #[serde(default)]
    pub paged: Vec<bool>,
    /// Documents the build could not read, each with why; kept in `files`
    /// (with no passages) so an unchanged corpus does not rebuild for them.
    #[serde(default)]
    pub skipped: Vec<String>,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::write(path, e.into()))?;
    write_atomically(path, &bytes)
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(|e| Error::write(&tmp, e))?;
    file.write_all(bytes).map_err(|e| Error::write(&tmp, e))?;
    file.sync_all().map_err(|e| Error::write(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::write(path, e))
}

pub(crate) fn switch_current(index_dir: &Path, generation: &str) -> Result<(), Error> {
    write_atomically(
        &index_dir.join(CURRENT),
        format!("{generation}\n").as_bytes(),
    )
}

/// The generation `CURRENT` names, if it names one.
pub fn current_generation(index_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(index_dir.join(CURRENT)).ok()?;
    let name = text.trim();
    (name.starts_with(GENERATION_PREFIX) && !name.contains(['/', '\\'])).then(|| name.to_string())
}

/// Keeps the current generation and the one before it (readers may still
/// have it open); removes older ones and abandoned unfinished builds. The
/// current generation is read from `CURRENT`, not taken from the caller: a
/// build in another process may have switched it since the caller looked.
pub(crate) fn remove_old_generations(index_dir: &Path) {
    let Some(current) = current_generation(index_dir) else {
        return;
    };
    let current = current.as_str();
    let Ok(entries) = fs::read_dir(index_dir) else {
        return;
    };
    let current_stamp = generation_stamp(current).map(|(stamp, _)| stamp);
    let mut complete: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(GENERATION_PREFIX) || name == current {
            continue;
        }
        let path = entry.path();
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(UNIX_EPOCH);
        if path.join(MANIFEST).exists() {
            // Newer than the current one. Its builder still running: about to
            // become current. Its builder gone: either it did become current
            // (a builder switches `CURRENT` before it exits, so `CURRENT` read
            // again now tells), or it was killed between writing its manifest
            // and switching, and no reader ever had it open.
            let newer = generation_stamp(&name)
                .filter(|(stamp, _)| current_stamp.is_some_and(|c| *stamp > c));
            match newer {
                Some((_, pid)) if process_alive(pid) => {}
                Some(_) => {
                    if current_generation(index_dir).as_deref() != Some(name.as_str()) {
                        let _ = fs::remove_dir_all(&path);
                    }
                }
                None => complete.push((modified, path)),
            }
        } else if modified.elapsed().unwrap_or_default() > ABANDONED_AFTER {
            let _ = fs::remove_dir_all(&path);
        }
    }
    complete.sort();
    complete.pop();
    for (_, path) in complete {
        let _ = fs::remove_dir_all(&path);
    }
}

/// The build time (ms) and builder's process id in a generation's name.
pub(crate) fn generation_stamp(name: &str) -> Option<(u128, u32)> {
    let (stamp, pid) = name.strip_prefix(GENERATION_PREFIX)?.split_once('-')?;
    Some((stamp.parse().ok()?, pid.parse().ok()?))
}

/// Whether process `pid` runs; where that cannot be told, it is taken to run.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let bytes = fs::read(path).map_err(|e| Error::bad_index(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::bad_index(path, e))
}

/// Why an index must be rebuilt before answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    Fresh,
    Changed(String),
}

/// Compares the corpus on disk with what the index was built from: sizes and
/// times first, content hashes only when those differ.
pub fn staleness(corpus_dir: &Path, manifest: &Manifest) -> Result<Staleness, Error> {
    staleness_of(&corpus::quick_stamps(corpus_dir)?, manifest)
}

/// [`staleness`] for stamps the caller has already read with [`corpus::quick_stamps`].
pub fn staleness_of(now: &[(PathBuf, FileStamp)], manifest: &Manifest) -> Result<Staleness, Error> {
    let built = &manifest.files;
    let paths_now: Vec<&str> = now.iter().map(|(_, s)| s.path.as_str()).collect();
    let paths_built: Vec<&str> = built.iter().map(|s| s.path.as_str()).collect();
    if paths_now != paths_built {
        return Ok(Staleness::Changed("the corpus has other files".into()));
    }
    for ((path, disk), old) in now.iter().zip(built) {
        if disk.size == old.size && disk.modified_ns == old.modified_ns {
            continue;
        }
        if corpus::read_file(path)?.stamp.sha256 != old.sha256 {
            return Ok(Staleness::Changed(format!("{} was edited", disk.path)));
        }
    }
    Ok(Staleness::Fresh)
}

/// Checks every file of the generation against the checksum tantivy wrote in
/// its footer. A file damaged on disk otherwise shows only when a question
/// happens to read the damaged part, as an I/O error naming neither the index
/// nor a remedy. Reading the files costs about 1 ms per 3 MB of index.
pub(crate) fn verify_checksums(index: &tantivy::Index, gen_dir: &Path) -> Result<(), Error> {
    let damaged = index
        .validate_checksum()
        .map_err(|e| Error::bad_index(gen_dir, e))?;
    if damaged.is_empty() {
        return Ok(());
    }
    let mut names: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
    names.sort();
    Err(Error::bad_index(
        gen_dir,
        format!("damaged files: {}", names.join(", ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{build, Index};
    use crate::testing::corpus_with;

    #[test]
    fn old_generations_are_removed_but_the_previous_one_kept() {
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        for _ in 0..4 {
            build(&corpus_dir, &index_dir).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let generations = fs::read_dir(&index_dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("gen-")
            })
            .count();
        assert_eq!(generations, 2);
    }

    #[test]
    fn a_generation_made_current_by_another_process_is_kept() {
        // Regression (3 askers while 6 rebuilds ran failed now and then): a
        // process that had opened generation A saw generation B, newer, its
        // builder gone, and removed it as a never-switched build although
        // B's builder had switched `CURRENT` to B before exiting.
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        build(&corpus_dir, &index_dir).unwrap();
        let opened = Index::open(&index_dir).unwrap();
        let (stamp, _) = generation_stamp(&opened.manifest.generation).unwrap();
        let other = format!("gen-{}-4000000000", stamp + 1);
        fs::create_dir(index_dir.join(&other)).unwrap();
        fs::write(index_dir.join(&other).join(MANIFEST), b"{}").unwrap();
        switch_current(&index_dir, &other).unwrap();
        remove_old_generations(&index_dir);
        assert!(index_dir.join(&other).exists());
        assert_eq!(current_generation(&index_dir), Some(other));
    }
}
