//! Captured messages to the save folder, with a group commit: each
//! connection thread hands its message over and waits; one thread writes
//! every message that came meanwhile to a temporary file, makes them all
//! durable with one sync, renames them into place, syncs the folder, and
//! wakes their threads. So "a 250 means it is on disk" holds at one sync
//! per batch, not one per message, and no file is ever seen half-written.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// The saving thread and its queue.
pub(crate) struct Saver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    queue: Vec<Job>,
    next: u64,
    /// Finished jobs, by ticket, until their thread takes the result.
    done: HashMap<u64, Result<(), String>>,
    stop: bool,
}

struct Job {
    ticket: u64,
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Saver {
    /// Starts the saving thread.
    pub fn start() -> io::Result<Saver> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("sandbox-saver".into())
                .spawn(move || run(&shared))?
        };
        Ok(Saver {
            shared,
            thread: Some(thread),
        })
    }

    /// Saves `bytes` as `path` (0600), durably, and returns once it is on
    /// disk, or says why it could not be.
    pub fn save(&self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        let mut state = self.shared.lock();
        let ticket = state.next;
        state.next += 1;
        state.queue.push(Job {
            ticket,
            path: path.to_owned(),
            bytes: bytes.to_vec(),
        });
        self.shared.changed.notify_all();
        loop {
            if let Some(result) = state.done.remove(&ticket) {
                return result;
            }
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Saver {
    /// Saves what is queued, then stops the thread.
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn run(shared: &Shared) {
    loop {
        let batch = {
            let mut state = shared.lock();
            while state.queue.is_empty() && !state.stop {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
            if state.queue.is_empty() {
                return;
            }
            std::mem::take(&mut state.queue)
        };
        let results = commit(&batch);
        let mut state = shared.lock();
        for (job, result) in batch.iter().zip(results) {
            state.done.insert(job.ticket, result);
        }
        drop(state);
        shared.changed.notify_all();
    }
}

/// Writes a batch: every file to a temporary name, one sync for all, the
/// renames, then each folder synced. One result per job, in order.
fn commit(batch: &[Job]) -> Vec<Result<(), String>> {
    let why = |path: &Path, e: io::Error| format!("cannot write {}: {e}", path.display());
    let mut written: Vec<Result<(PathBuf, File), String>> = batch
        .iter()
        .map(|job| {
            let tmp = temporary(&job.path);
            write_new(&tmp, &job.bytes)
                .map(|file| (tmp.clone(), file))
                .map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    why(&job.path, e)
                })
        })
        .collect();
    // One sync for the whole batch where the system has one (Linux
    // syncfs); else each file on its own.
    let synced = sync_all(
        written
            .iter()
            .filter_map(|w| w.as_ref().ok().map(|(_, f)| f)),
    );
    let mut folders: Vec<&Path> = Vec::new();
    let results = batch
        .iter()
        .zip(written.iter_mut())
        .map(|(job, w)| {
            let (tmp, _) = w.as_ref().map_err(Clone::clone)?;
            if let Err(e) = &synced {
                let _ = std::fs::remove_file(tmp);
                return Err(why(&job.path, io::Error::new(e.kind(), e.to_string())));
            }
            place(tmp, &job.path).map_err(|e| {
                let _ = std::fs::remove_file(tmp);
                why(&job.path, e)
            })?;
            if let Some(dir) = job.path.parent().filter(|d| !folders.contains(d)) {
                folders.push(dir);
            }
            Ok(())
        })
        .collect::<Vec<_>>();
    // The renames themselves: the folders' entries, durable too.
    let folder_sync: Result<(), String> = folders.iter().try_for_each(|dir| {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| why(dir, e))
    });
    results
        .into_iter()
        .map(|r| r.and_then(|()| folder_sync.clone()))
        .collect()
}

/// Moves the temporary file to `path`, never over a file already there (a
/// sandbox restarted within the same second numbers from 1 again; two may
/// share a folder): then `NAME.2.eml`, `NAME.3.eml`… A hard link cannot
/// replace anything; where there are none, a checked rename.
fn place(tmp: &Path, path: &Path) -> io::Result<PathBuf> {
    for n in 1..1000u32 {
        let target = match n {
            1 => path.to_owned(),
            n => {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let ext = path.extension().unwrap_or_default().to_string_lossy();
                path.with_file_name(format!("{stem}.{n}.{ext}"))
            }
        };
        match std::fs::hard_link(tmp, &target) {
            Ok(()) => {
                std::fs::remove_file(tmp)?;
                return Ok(target);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) if !target.exists() => {
                std::fs::rename(tmp, &target)?;
                return Ok(target);
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("a thousand files of that name already"))
}

fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    Ok(file)
}

#[cfg(target_os = "linux")]
fn sync_all<'a>(mut files: impl Iterator<Item = &'a File>) -> io::Result<()> {
    match files.next() {
        Some(file) => rustix::fs::syncfs(file).map_err(io::Error::from),
        None => Ok(()),
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_all<'a>(files: impl Iterator<Item = &'a File>) -> io::Result<()> {
    files.into_iter().try_for_each(File::sync_all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_threads_save_at_once_and_every_file_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Arc::new(Saver::start().unwrap());
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let (saver, dir) = (Arc::clone(&saver), dir.path().to_owned());
                std::thread::spawn(move || {
                    for j in 0..20 {
                        let path = dir.join(format!("{i:02}-{j:02}.eml"));
                        saver
                            .save(&path, format!("message {i} {j}").as_bytes())
                            .unwrap();
                        // On disk by the time save returns.
                        assert_eq!(
                            std::fs::read_to_string(&path).unwrap(),
                            format!("message {i} {j}")
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 320, "no temporary files left: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join("00-00.eml")).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_file_already_there_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("20261203T120000Z-000001.eml");
        std::fs::write(&path, b"from the last run").unwrap();
        let saver = Saver::start().unwrap();
        saver.save(&path, b"this run").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"from the last run");
        let next = dir.path().join("20261203T120000Z-000001.2.eml");
        assert_eq!(std::fs::read(next).unwrap(), b"this run");
    }

    #[test]
    fn a_failure_is_reported_to_its_own_job_only() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::start().unwrap();
        let bad = dir.path().join("no-such-folder/x.eml");
        let e = saver.save(&bad, b"x").unwrap_err();
        assert!(e.contains("cannot write") && e.contains("x.eml"), "{e}");
        saver.save(&dir.path().join("ok.eml"), b"ok").unwrap();
        drop(saver);
        assert_eq!(std::fs::read(dir.path().join("ok.eml")).unwrap(), b"ok");
    }
}
