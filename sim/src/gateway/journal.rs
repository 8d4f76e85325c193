//! The crash-safe journal of record updates, and writing calling lists back to their files.
//!
//! Calling lists live in CSV files that are rewritten only at a clean shutdown (and right
//! after a restart has replayed the journal). Between those points every record the server
//! changes ([`Output::RecordUpdate`](pacer_engine::server::Output)) is appended to the journal
//! as one JSON line `{"list": NAME, "row": CSV}`, where `row` is the record as one CSV row of
//! its list (the same columns `CallingList::write_csv` writes). The gateway syncs the journal
//! (`fdatasync`) before it sends the replies of the lines that caused the updates, so a record
//! a desktop was told is processed is on disk. A restart loads the lists, replays the journal
//! (the last entry for a record wins; a torn last line from a crash, one without its newline,
//! is skipped; any other line that does not read is an error naming it), writes the lists back
//! and empties the journal.
//!
//! A long run compacts the journal: after `--journal-compact-every` entries the lists are
//! written back (records out on desktops or in calls are written as `Retrieved`, which a
//! restart returns to `Ready`) and the journal is emptied.
//!
//! Writing a list back goes through a temporary file in the same directory that is synced
//! and renamed over the old one, so a crash leaves either the old file or the new one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use pacer_engine::protocol::RecordStatus;
use pacer_engine::records::{CallingList, ListFormat, ListId, Record, RecordHandle, RecordStore};
use serde::{Deserialize, Serialize};

/// When the journal is synced to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// After each batch of input lines that changed records, before their replies go out.
    Always,
    /// Never explicitly (the OS writes it back): survives a killed process, not a power cut.
    Never,
}

#[derive(Serialize, Deserialize)]
struct Entry<'a> {
    list: &'a str,
    row: &'a str,
}

/// The header line of a list's CSV form, and one record as a row of it.
fn csv_header(name: &str, format: &ListFormat) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = CallingList::new(name, format.clone()).write_csv(&mut buf);
    String::from_utf8_lossy(&buf).trim_end().to_string()
}

fn csv_row(name: &str, format: &ListFormat, record: &Record) -> io::Result<String> {
    let mut list = CallingList::new(name, format.clone());
    list.push(record.clone()).map_err(|e| io::Error::other(e.to_string()))?;
    let mut buf = Vec::new();
    list.write_csv(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let row = text.split_once('\n').map_or("", |(_, rest)| rest);
    Ok(row.trim_end_matches(['\n', '\r']).to_string())
}

/// The append-only journal file.
pub struct Journal {
    path: PathBuf,
    file: BufWriter<File>,
    policy: FsyncPolicy,
    dirty: bool,
    appended: u64,
    /// Entries since the journal was last emptied.
    since_reset: u64,
}

impl Journal {
    /// Opens (creating) the journal at `path` for appending.
    pub fn open(path: &Path, policy: FsyncPolicy) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
            policy,
            dirty: false,
            appended: 0,
            since_reset: 0,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Entries appended since it was opened.
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Appends one record update (buffered until [`Journal::commit`]).
    pub fn append(&mut self, list: &str, format: &ListFormat, record: &Record) -> io::Result<()> {
        let row = csv_row(list, format, record)?;
        serde_json::to_writer(&mut self.file, &Entry { list, row: &row }).map_err(io::Error::other)?;
        self.file.write_all(b"\n")?;
        self.dirty = true;
        self.appended += 1;
        self.since_reset += 1;
        Ok(())
    }

    /// Writes what was appended to the file and, under [`FsyncPolicy::Always`], to the disk.
    pub fn commit(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.file.flush()?;
        if self.policy == FsyncPolicy::Always {
            self.file.get_ref().sync_data()?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Entries since the journal was last emptied.
    pub fn since_reset(&self) -> u64 {
        self.since_reset
    }

    /// Empties the journal (after the lists were written back).
    pub fn reset(&mut self) -> io::Result<()> {
        self.since_reset = 0;
        self.file.flush()?;
        self.file.get_ref().set_len(0)?;
        self.file.get_ref().sync_all()?;
        self.dirty = false;
        Ok(())
    }
}

/// Replays the journal at `path` into `store`; returns how many entries were applied. A
/// missing file is an empty journal. A bad line other than the last is an error naming it
/// (the last may be torn by a crash and is skipped).
pub fn replay(path: &Path, store: &mut RecordStore) -> Result<u64, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut index: HashMap<(ListId, i64), RecordHandle> = HashMap::new();
    for id in store.list_ids() {
        let list = store.list(id);
        for (r, &h) in list.records().iter().zip(list.handles()) {
            index.insert((id, r.record_id), h);
        }
    }
    let mut headers: HashMap<ListId, String> = HashMap::new();
    let mut bytes = Vec::new();
    BufReader::new(file).read_to_end(&mut bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    // Every entry is written with its newline in one write: only a crash in the middle of the
    // last write leaves a line without one, and only that line may be skipped. A complete
    // line that does not read is an error, never a silently lost update.
    let torn_last = !bytes.is_empty() && !bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.strip_suffix(b"\n").unwrap_or(&bytes).split(|&b| b == b'\n').collect();
    let mut applied = 0;
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let number = i + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = (|| -> Result<(), String> {
            let line = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_string())?;
            let entry: Entry<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let id =
                store.list_by_name(entry.list).ok_or_else(|| format!("no calling list {:?}", entry.list))?;
            let header =
                headers.entry(id).or_insert_with(|| csv_header(entry.list, store.list(id).format())).clone();
            let text = format!("{header}\n{}\n", entry.row);
            let source = format!("{}:{number}", path.display());
            let one = CallingList::read_csv(
                text.as_bytes(),
                &source,
                entry.list,
                Some(store.list(id).format().clone()),
            )
            .map_err(|e| e.to_string())?;
            let mut record = one.records().first().cloned().ok_or("an empty row")?;
            if record.record_status == RecordStatus::Retrieved {
                record.record_status = RecordStatus::Ready;
            }
            let handle = match index.get(&(id, record.record_id)) {
                Some(&h) => h,
                None => {
                    // A record added while the gateway ran (AddRecord): add it again.
                    let h = store.add_record(id, record.clone()).map_err(|e| e.to_string())?;
                    index.insert((id, record.record_id), h);
                    h
                }
            };
            let mut slot = store.get_mut(handle).ok_or("a handle of the store")?;
            *slot = record;
            Ok(())
        })();
        match result {
            Ok(()) => applied += 1,
            Err(_) if number == last && torn_last => {
                tracing::warn!(line = number, "journal: skipping a torn last line");
            }
            Err(e) => return Err(format!("{}: line {number}: {e}", path.display())),
        }
    }
    Ok(applied)
}

/// Returns every record left Retrieved (a crash while it was out) to Ready.
pub fn release_retrieved(store: &mut RecordStore) -> usize {
    let mut handles = Vec::new();
    for id in store.list_ids() {
        let list = store.list(id);
        for (r, &h) in list.records().iter().zip(list.handles()) {
            if r.record_status == RecordStatus::Retrieved {
                handles.push(h);
            }
        }
    }
    for &h in &handles {
        store.return_to_list(h, RecordStatus::Ready);
    }
    handles.len()
}

/// The file a list is kept in.
pub fn list_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.csv"))
}

/// Writes every list of `store` back to `dir` (each through a synced temporary file renamed
/// over the old one). Returns how many records were written.
pub fn write_back(store: &RecordStore, dir: &Path) -> io::Result<usize> {
    let mut written = 0;
    for id in store.list_ids() {
        let list = store.list(id);
        let path = list_path(dir, list.name());
        let tmp = dir.join(format!(".{}.csv.tmp", list.name()));
        {
            let file = File::create(&tmp)?;
            let mut w = BufWriter::new(file);
            list.write_csv(&mut w)?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        written += list.len();
    }
    // The renames are durable once the directory is synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "record_id,contact_info,contact_info_type,record_type,record_status,call_result,\
attempts,dial_sched_time,call_time,daily_from,daily_till,tz_name,agent_id,chain_id,chain_n,tier:CHAR:tier\n\
1,5551000,1,2,1,28,0,,,28800,64800,EST,,1,0,gold\n\
2,5551001,1,2,1,28,0,,,28800,64800,EST,,2,0,silver\n";

    fn store() -> RecordStore {
        let mut store = RecordStore::new();
        store.add_list(CallingList::read_csv(CSV.as_bytes(), "t.csv", "Leads", None).unwrap()).unwrap();
        store
    }

    #[test]
    fn replays_updates_and_skips_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut journal = Journal::open(&path, FsyncPolicy::Always).unwrap();
        let s = store();
        let id = s.list_by_name("Leads").unwrap();
        let mut first = s.list(id).records()[0].clone();
        first.record_status = RecordStatus::Updated;
        first.attempts = 1;
        journal.append("Leads", s.list(id).format(), &first).unwrap();
        first.attempts = 2;
        journal.append("Leads", s.list(id).format(), &first).unwrap();
        let mut second = s.list(id).records()[1].clone();
        second.record_status = RecordStatus::Retrieved;
        journal.append("Leads", s.list(id).format(), &second).unwrap();
        journal.commit().unwrap();
        assert_eq!(journal.appended(), 3);
        // A crash in the middle of a write leaves half a line.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"list\":\"Le").unwrap();

        let mut replayed = store();
        assert_eq!(replay(&path, &mut replayed).unwrap(), 3);
        let records = replayed.list(id).records();
        assert_eq!((records[0].record_status, records[0].attempts), (RecordStatus::Updated, 2));
        assert_eq!(records[1].record_status, RecordStatus::Ready, "a record out at the crash is Ready again");

        // Written back and read again: the same records.
        write_back(&replayed, dir.path()).unwrap();
        let back = CallingList::load_csv(&list_path(dir.path(), "Leads"), "Leads", None).unwrap();
        assert_eq!(back.records(), replayed.list(id).records());

        // A bad line that is not the last is an error naming it.
        std::fs::write(&path, "garbage\n{}\n").unwrap();
        let err = replay(&path, &mut store()).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
        // So is a complete last line (it ends with its newline: no crash tore it), and a line
        // that is not UTF-8: an update is never dropped without a word.
        std::fs::write(&path, "{\"list\":\"Leads\",\"row\":\"1,abc\"}\n").unwrap();
        let err = replay(&path, &mut store()).unwrap_err();
        assert!(err.contains("line 1") && err.contains("fields"), "{err}");
        std::fs::write(&path, b"\xff\xfe\n").unwrap();
        let err = replay(&path, &mut store()).unwrap_err();
        assert!(err.contains("line 1: not UTF-8"), "{err}");
        journal.reset().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
