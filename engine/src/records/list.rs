//! A calling list and its CSV form.

use std::fmt::{self, Write as _};
use std::io::{Read, Write};
use std::path::Path;

use compact_str::CompactString;

use super::{CustomFieldDef, FieldType, ListFormat, Record, RecordHandle, Value, tz};
use crate::protocol::{CallResult, PhoneType, RecordStatus, RecordType};

/// The columns every calling-list CSV must have (plus `tz_name` or `tz_dbid`), in the order
/// [`CallingList::write_csv`] writes them.
pub const MANDATORY_COLUMNS: &[&str] = &[
    "record_id",
    "contact_info",
    "contact_info_type",
    "record_type",
    "record_status",
    "call_result",
    "attempts",
    "dial_sched_time",
    "call_time",
    "daily_from",
    "daily_till",
    "agent_id",
    "chain_id",
    "chain_n",
];

/// Known columns that may be left out (one of `tz_name` and `tz_dbid` is needed): the zone's
/// offset (taken from the zone table when absent), the customer id and the switch dbid.
pub const OPTIONAL_COLUMNS: &[&str] = &["tz_name", "tz_dbid", "tz_offset", "customer_id", "switch_dbid"];

/// Which field a CSV column fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    RecordId,
    ContactInfo,
    ContactInfoType,
    RecordType,
    RecordStatus,
    CallResult,
    Attempts,
    DialSchedTime,
    CallTime,
    DailyFrom,
    DailyTill,
    AgentId,
    ChainId,
    ChainN,
    TzName,
    TzDbid,
    TzOffset,
    CustomerId,
    SwitchDbid,
    Custom(usize),
}

impl Col {
    /// The known column `name` names, in any letter case: database exports of calling-list
    /// tables often write column names in capitals (`RECORD_ID`).
    fn known(name: &str) -> Option<Col> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Col::known(&name.to_ascii_lowercase());
        }
        Some(match name {
            "record_id" => Col::RecordId,
            "contact_info" => Col::ContactInfo,
            "contact_info_type" => Col::ContactInfoType,
            "record_type" => Col::RecordType,
            "record_status" => Col::RecordStatus,
            "call_result" => Col::CallResult,
            "attempts" => Col::Attempts,
            "dial_sched_time" => Col::DialSchedTime,
            "call_time" => Col::CallTime,
            "daily_from" => Col::DailyFrom,
            "daily_till" => Col::DailyTill,
            "agent_id" => Col::AgentId,
            "chain_id" => Col::ChainId,
            "chain_n" => Col::ChainN,
            "tz_name" => Col::TzName,
            "tz_dbid" => Col::TzDbid,
            "tz_offset" => Col::TzOffset,
            "customer_id" => Col::CustomerId,
            "switch_dbid" => Col::SwitchDbid,
            _ => return None,
        })
    }
}

/// Why a calling list (or a do-not-call list) could not be loaded: which file, which line
/// (1 is the header), which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError {
    file: String,
    line: Option<u64>,
    field: Option<String>,
    reason: String,
}

impl ListError {
    pub(crate) fn new(
        file: &str,
        line: Option<u64>,
        field: Option<&str>,
        reason: impl Into<String>,
    ) -> ListError {
        ListError { file: file.to_owned(), line, field: field.map(str::to_owned), reason: reason.into() }
    }

    /// The file (or source name) read.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line the problem is on, counting the header as line 1 (`None` for a problem with
    /// the file as a whole, such as one that cannot be opened).
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The column the problem is in, if it is in one.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ListError {}

/// A named calling list: its custom-field format and its records, in file order.
///
/// A list on its own is plain data; once given to a [`RecordStore`](super::RecordStore) its
/// records get handles and are changed only through the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallingList {
    name: CompactString,
    format: ListFormat,
    records: Vec<Record>,
    /// Handles parallel to `records`; empty until the list is added to a store.
    pub(crate) handles: Vec<RecordHandle>,
    script_id: Option<i64>,
}

impl CallingList {
    /// An empty list.
    pub fn new(name: &str, format: ListFormat) -> CallingList {
        CallingList { name: name.into(), format, records: Vec::new(), handles: Vec::new(), script_id: None }
    }

    /// Loads the CSV file at `path`; see [`CallingList::read_csv`].
    pub fn load_csv(path: &Path, name: &str, format: Option<ListFormat>) -> Result<CallingList, ListError> {
        let source = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| ListError::new(&source, None, None, e.to_string()))?;
        CallingList::read_csv(file, &source, name, format)
    }

    /// Reads a calling list from CSV. `source` names the input in error messages.
    ///
    /// The first line is the header: the field names. It must hold every column of
    /// [`MANDATORY_COLUMNS`] and `tz_name` or `tz_dbid` (a dbid of the [`tz`] table); it may
    /// hold `tz_offset` (seconds east of UTC; required for a zone not in the table),
    /// `customer_id` and `switch_dbid`. Any other column is a custom field, written
    /// `name`, `name:TYPE` or `name:TYPE:send_attribute` (TYPE one of `INT`, `FLOAT`, `CHAR`,
    /// `DATETIME`, `VARCHAR`; a bare name is a `VARCHAR` that is not sent, unless it is one
    /// slip from a known column's name (a letter added, dropped, changed, or two neighbours
    /// swapped): that is refused as a misspelling, and a custom field so named needs its
    /// type). Known columns are recognised in any letter case (`RECORD_ID`). When `format`
    /// is given, the custom columns must be exactly its fields (any order), and a type
    /// written in the header must agree with it.
    ///
    /// Cells: enumerations (`contact_info_type`, `record_type`, `record_status`,
    /// `call_result`) as their integer code or their name; times as Unix seconds; an empty
    /// cell is "none" for the optional fields (`dial_sched_time`, `call_time`, `agent_id`,
    /// `customer_id`, `switch_dbid`, `tz_offset`, custom fields) and an error elsewhere.
    ///
    /// All or nothing: the first bad row ends the load with an error naming the line and the
    /// field, and no list is returned. Duplicate record ids and duplicate
    /// (`chain_id`, `chain_n`) pairs are errors too.
    ///
    /// ```
    /// use pacer_engine::records::CallingList;
    /// let csv = "record_id,contact_info,contact_info_type,record_type,record_status,call_result,\
    /// attempts,dial_sched_time,call_time,daily_from,daily_till,tz_name,agent_id,chain_id,chain_n,tier:CHAR:tier\n\
    /// 1,5551000,1,2,1,28,0,,,28800,64800,EST,,1,0,gold\n";
    /// let list = CallingList::read_csv(csv.as_bytes(), "leads.csv", "Leads", None).unwrap();
    /// assert_eq!(list.len(), 1);
    /// assert_eq!(list.records()[0].phone, "5551000");
    /// let bad = csv.replace(",EST,", ",EST,").replace("1,5551000,1,2,1,28", "1,5551000,1,2,99,28");
    /// let err = CallingList::read_csv(bad.as_bytes(), "leads.csv", "Leads", None).unwrap_err();
    /// assert_eq!(err.to_string(), "leads.csv:2: field `record_status`: `99` is not a record status");
    /// ```
    pub fn read_csv<R: Read>(
        reader: R,
        source: &str,
        name: &str,
        format: Option<ListFormat>,
    ) -> Result<CallingList, ListError> {
        read_csv(reader, source, name, format, None)
    }

    /// Writes the list as CSV in the form [`CallingList::read_csv`] reads: every mandatory
    /// column, then `tz_offset`, `customer_id`, `switch_dbid`, then the custom columns as
    /// `name:TYPE[:send_attribute]`. Enumerations are written as their codes. Reading the
    /// output back gives an equal list.
    pub fn write_csv<W: Write>(&self, writer: W) -> std::io::Result<()> {
        let mut out = csv::WriterBuilder::new().buffer_capacity(1 << 16).from_writer(writer);
        let mut header: Vec<String> = MANDATORY_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
        header.extend(["tz_name", "tz_offset", "customer_id", "switch_dbid"].map(str::to_owned));
        for def in &self.format.custom {
            let mut col = format!("{}:{}", def.name, def.data_type);
            if let Some(send) = &def.send_attribute {
                col.push(':');
                col.push_str(send);
            }
            header.push(col);
        }
        out.write_record(&header)?;
        let mut buf = String::new();
        for r in &self.records {
            let mut int = |out: &mut csv::Writer<W>, v: i64| -> std::io::Result<()> {
                buf.clear();
                let _ = write!(buf, "{v}");
                out.write_field(&buf).map_err(std::io::Error::from)
            };
            int(&mut out, r.record_id)?;
            out.write_field(r.phone.as_bytes())?;
            int(&mut out, r.phone_type.code())?;
            int(&mut out, r.record_type.code())?;
            int(&mut out, r.record_status.code())?;
            int(&mut out, r.call_result.code())?;
            int(&mut out, i64::from(r.attempts))?;
            match r.dial_sched_time {
                Some(t) => int(&mut out, t)?,
                None => out.write_field("")?,
            }
            match r.call_time {
                Some(t) => int(&mut out, t)?,
                None => out.write_field("")?,
            }
            int(&mut out, i64::from(r.daily_from_s))?;
            int(&mut out, i64::from(r.daily_till_s))?;
            out.write_field(r.agent_id.as_deref().unwrap_or(""))?;
            int(&mut out, r.chain_id)?;
            int(&mut out, i64::from(r.chain_n))?;
            out.write_field(r.tz_name.as_bytes())?;
            int(&mut out, i64::from(r.tz_offset_s))?;
            out.write_field(r.customer_id.as_deref().unwrap_or(""))?;
            match r.switch_dbid {
                Some(d) => int(&mut out, d)?,
                None => out.write_field("")?,
            }
            for i in 0..self.format.custom.len() {
                match r.custom.get(i).and_then(Option::as_ref) {
                    None => out.write_field("")?,
                    Some(Value::Int(v)) => int(&mut out, *v)?,
                    Some(Value::Str(s)) => out.write_field(s.as_bytes())?,
                    Some(Value::List(l)) => out.write_field(l.to_json_string())?,
                }
            }
            out.write_record(None::<&[u8]>)?;
        }
        out.flush()
    }

    /// Writes the list to the file at `path` (created or truncated); see
    /// [`CallingList::write_csv`].
    pub fn save_csv(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        self.write_csv(std::io::BufWriter::with_capacity(1 << 16, file))
    }

    /// The list's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The DBID of the script configured on the list (`GSW_SCRIPT_ID`; a list's script takes
    /// priority over its campaign's and its campaign group's), if any.
    pub fn script_id(&self) -> Option<i64> {
        self.script_id
    }

    /// Sets the script configured on the list (configuration, not part of the CSV).
    pub fn set_script_id(&mut self, script_id: Option<i64>) {
        self.script_id = script_id;
    }

    /// The list's custom fields.
    pub fn format(&self) -> &ListFormat {
        &self.format
    }

    /// How many records the list holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if the list holds no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records, in file (then insertion) order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The handles of the records, parallel to [`CallingList::records`]; empty until the list
    /// is added to a store.
    pub fn handles(&self) -> &[RecordHandle] {
        &self.handles
    }

    /// Appends a record to a list that is not in a store yet. Its custom fields must match
    /// the list's format in number; duplicates are found when the list is added to a store.
    pub fn push(&mut self, record: Record) -> Result<(), ListError> {
        self.check_custom(&record)?;
        self.records.push(record);
        Ok(())
    }

    pub(crate) fn check_custom(&self, record: &Record) -> Result<(), ListError> {
        if record.custom.len() != self.format.custom.len() {
            return Err(ListError::new(
                &self.name,
                None,
                Some("custom"),
                format!(
                    "record {} has {} custom fields, the list's format has {}",
                    record.record_id,
                    record.custom.len(),
                    self.format.custom.len()
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn records_mut(&mut self) -> &mut Vec<Record> {
        &mut self.records
    }
}

/// Rows read before the rest of the file's row count is estimated from its size.
const SIZE_SAMPLE_ROWS: usize = 1024;
/// A cap on that estimate, so an odd first thousand rows cannot reserve absurd memory.
const MAX_RESERVE_ROWS: usize = 64 << 20;

/// [`CallingList::read_csv`], with the input's size in bytes when known.
fn read_csv<R: Read>(
    reader: R,
    source: &str,
    name: &str,
    format: Option<ListFormat>,
    size_hint: Option<u64>,
) -> Result<CallingList, ListError> {
    let mut csv = csv::ReaderBuilder::new().has_headers(false).buffer_capacity(1 << 16).from_reader(reader);
    let mut row = csv::ByteRecord::new();
    let has_header = csv.read_byte_record(&mut row).map_err(|e| csv_error(source, &e, &[]))?;
    if !has_header {
        return Err(ListError::new(source, Some(1), None, "empty file: no header line"));
    }
    let header = Header::parse(source, &row, format)?;
    let mut records = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    loop {
        match csv.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(source, &e, &header.names)),
        }
        let line = row.position().map_or(0, |p| p.line());
        records.push(header.parse_row(source, line, &row)?);
        lines.push(line);
        // Growing a vector of a million records by doubling touches (and page-faults) about
        // twice the memory it ends with; once the average row length is known, reserve for
        // the whole file instead.
        if records.len() == SIZE_SAMPLE_ROWS
            && let Some(total) = size_hint
        {
            let consumed = row.position().map_or(0, |p| p.byte()).max(1);
            let estimate = total.saturating_mul(SIZE_SAMPLE_ROWS as u64) / consumed;
            let estimate = usize::try_from(estimate + estimate / 16).unwrap_or(0).min(MAX_RESERVE_ROWS);
            records.reserve(estimate.saturating_sub(records.len()));
            lines.reserve(estimate.saturating_sub(lines.len()));
        }
    }
    check_unique(source, &records, &lines)?;
    Ok(CallingList {
        name: name.into(),
        format: header.format,
        records,
        handles: Vec::new(),
        script_id: None,
    })
}

/// The parsed header: which field each column fills.
struct Header {
    names: Vec<String>,
    cols: Vec<Col>,
    format: ListFormat,
    has_tz_name: bool,
}

impl Header {
    fn parse(source: &str, row: &csv::ByteRecord, format: Option<ListFormat>) -> Result<Header, ListError> {
        let err = |field: &str, reason: String| ListError::new(source, Some(1), Some(field), reason);
        let mut names = Vec::with_capacity(row.len());
        let mut cols = Vec::with_capacity(row.len());
        let given_format = format.is_some();
        let mut format = format.unwrap_or_default();
        let mut custom_seen = vec![false; format.custom.len()];
        for (i, raw) in row.iter().enumerate() {
            let mut text = std::str::from_utf8(raw).map_err(|_| {
                ListError::new(source, Some(1), None, format!("column {} is not UTF-8", i + 1))
            })?;
            if i == 0 {
                text = text.strip_prefix('\u{feff}').unwrap_or(text);
            }
            let mut parts = text.splitn(3, ':');
            let name = parts.next().unwrap_or_default();
            let type_tag = parts.next();
            let send_attribute = parts.next().filter(|s| !s.is_empty());
            if name.is_empty() {
                return Err(ListError::new(source, Some(1), None, format!("column {} has no name", i + 1)));
            }
            // A known column goes by its own (lower-case) name whatever case the header uses.
            let known = Col::known(name);
            let lower;
            let name = if known.is_some() && name.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = name.to_ascii_lowercase();
                lower.as_str()
            } else {
                name
            };
            if names.iter().any(|n| n == name) {
                return Err(err(name, "column appears twice in the header".into()));
            }
            let col = match known {
                Some(col) => {
                    if type_tag.is_some() {
                        return Err(err(name, "a mandatory field takes no type".into()));
                    }
                    col
                }
                None => {
                    let data_type = match type_tag {
                        None => None,
                        Some(tag) => Some(FieldType::from_name(tag).ok_or_else(|| {
                            err(
                                name,
                                format!("`{tag}` is not a field type (INT, FLOAT, CHAR, DATETIME, VARCHAR)"),
                            )
                        })?),
                    };
                    if given_format {
                        let idx = format
                            .index_of(name)
                            .ok_or_else(|| err(name, "column is not a field of the list's format".into()))?;
                        let def = &format.custom[idx];
                        if data_type.is_some_and(|t| t != def.data_type) {
                            return Err(err(
                                name,
                                format!(
                                    "header says {} but the list's format says {}",
                                    data_type.unwrap_or(def.data_type),
                                    def.data_type
                                ),
                            ));
                        }
                        custom_seen[idx] = true;
                        Col::Custom(idx)
                    } else {
                        // A bare name one slip from a known column is that column
                        // misspelt far more often than a custom field: taken as custom, its
                        // values would be ignored without a word.
                        if type_tag.is_none()
                            && let Some(known) = near_known_column(name)
                        {
                            return Err(err(
                                name,
                                format!(
                                    "not a column of calling lists; is it `{known}`? (a custom field \
                                     with this name needs its type: `{name}:VARCHAR`)"
                                ),
                            ));
                        }
                        if let Some(send) = send_attribute
                            && send.starts_with(crate::kv::RESERVED_PREFIX)
                        {
                            return Err(err(
                                name,
                                format!("send_attribute `{send}` uses the reserved GSW_ prefix"),
                            ));
                        }
                        format.custom.push(CustomFieldDef::new(
                            name,
                            data_type.unwrap_or(FieldType::Varchar),
                            send_attribute,
                        ));
                        Col::Custom(format.custom.len() - 1)
                    }
                }
            };
            names.push(name.to_owned());
            cols.push(col);
        }
        for required in MANDATORY_COLUMNS {
            if !names.iter().any(|n| n == required) {
                return Err(err(required, "mandatory column missing from the header".into()));
            }
        }
        let has_tz_name = cols.contains(&Col::TzName);
        if !has_tz_name && !cols.contains(&Col::TzDbid) {
            return Err(err("tz_name", "the header needs a `tz_name` or a `tz_dbid` column".into()));
        }
        if let Some(idx) = custom_seen.iter().position(|seen| !seen) {
            return Err(err(
                &format.custom[idx].name,
                "column of the list's format missing from the header".into(),
            ));
        }
        Ok(Header { names, cols, format, has_tz_name })
    }

    fn parse_row(&self, source: &str, line: u64, row: &csv::ByteRecord) -> Result<Record, ListError> {
        let mut r = Record::new(0, "", "");
        r.custom = vec![None; self.format.custom.len()];
        let mut tz_dbid = None;
        let mut tz_offset = None;
        for (i, raw) in row.iter().enumerate() {
            let col = self.cols[i];
            let fail = |reason: String| ListError::new(source, Some(line), Some(&self.names[i]), reason);
            let text = std::str::from_utf8(raw).map_err(|_| fail("not valid UTF-8".into()))?;
            match col {
                Col::RecordId => {
                    r.record_id = int(text, 1, i64::MAX).map_err(fail)?;
                }
                Col::ContactInfo => {
                    // Checked against the phone type once the whole row is read.
                    if text.is_empty() {
                        return Err(fail("empty: every record needs contact information".into()));
                    }
                    r.phone = text.into();
                }
                Col::ContactInfoType => {
                    r.phone_type =
                        enumeration(text, PhoneType::from_code, PhoneType::from_label, "phone type")
                            .map_err(fail)?;
                }
                Col::RecordType => {
                    r.record_type =
                        enumeration(text, RecordType::from_code, RecordType::from_label, "record type")
                            .map_err(fail)?;
                }
                Col::RecordStatus => {
                    r.record_status =
                        enumeration(text, RecordStatus::from_code, RecordStatus::from_label, "record status")
                            .map_err(fail)?;
                }
                Col::CallResult => {
                    r.call_result =
                        enumeration(text, CallResult::from_code, CallResult::from_label, "call result")
                            .map_err(fail)?;
                }
                Col::Attempts => r.attempts = int32(text, 0, i32::MAX).map_err(fail)?,
                Col::DialSchedTime => r.dial_sched_time = opt_int(text, 0, i64::MAX).map_err(fail)?,
                Col::CallTime => r.call_time = opt_int(text, 0, i64::MAX).map_err(fail)?,
                Col::DailyFrom => {
                    r.daily_from_s = int32(text, 0, tz::SECONDS_PER_DAY as i32).map_err(fail)?
                }
                Col::DailyTill => {
                    r.daily_till_s = int32(text, 0, tz::SECONDS_PER_DAY as i32).map_err(fail)?
                }
                Col::AgentId => r.agent_id = opt_str(text),
                Col::ChainId => r.chain_id = int(text, 0, i64::MAX).map_err(fail)?,
                Col::ChainN => r.chain_n = int32(text, 0, i32::MAX).map_err(fail)?,
                Col::TzName => {
                    if text.is_empty() {
                        return Err(fail("empty: every record needs a time zone".into()));
                    }
                    r.tz_name = text.into();
                }
                Col::TzDbid => {
                    if !text.is_empty() {
                        let dbid = int(text, i64::MIN, i64::MAX).map_err(&fail)?;
                        let zone = tz::zone_by_dbid(dbid).ok_or_else(|| {
                            fail(format!("`{dbid}` is not a time zone dbid of the zone table"))
                        })?;
                        tz_dbid = Some(zone);
                    }
                }
                Col::TzOffset => tz_offset = opt_int(text, -43_200, 43_200).map_err(fail)?,
                Col::CustomerId => r.customer_id = opt_str(text),
                Col::SwitchDbid => r.switch_dbid = opt_int(text, i64::MIN, i64::MAX).map_err(fail)?,
                Col::Custom(idx) => {
                    if !text.is_empty() {
                        r.custom[idx] = Some(self.format.custom[idx].data_type.parse(text).map_err(fail)?);
                    }
                }
            }
        }
        if let Err(reason) = super::check_contact_info(&r.phone, r.phone_type) {
            return Err(ListError::new(source, Some(line), Some("contact_info"), reason));
        }
        // The zone: the name wins; a dbid fills in a missing name; the offset column, when
        // given, wins over the table's standard offset.
        let zone_field = if self.has_tz_name { "tz_name" } else { "tz_dbid" };
        let zone_fail = |reason: String| ListError::new(source, Some(line), Some(zone_field), reason);
        if r.tz_name.is_empty() {
            match tz_dbid {
                Some(zone) => r.tz_name = zone.name.into(),
                None => return Err(zone_fail("empty: every record needs a time zone".into())),
            }
        }
        r.tz_offset_s = match (tz_offset, tz::zone_by_name(&r.tz_name)) {
            (Some(offset), _) => offset as i32,
            (None, Some(zone)) => zone.std_offset_s,
            (None, None) => {
                return Err(zone_fail(format!(
                    "`{}` is not in the zone table and the row gives no tz_offset",
                    r.tz_name
                )));
            }
        };
        Ok(r)
    }
}

/// Reports the first (in file order) repeated record id or chain position.
fn check_unique(source: &str, records: &[Record], lines: &[u64]) -> Result<(), ListError> {
    let mut first_dup: Option<(usize, ListError)> = None;
    let mut note = |later: usize, err: ListError| {
        if first_dup.as_ref().is_none_or(|(at, _)| later < *at) {
            first_dup = Some((later, err));
        }
    };
    // Sorting (key, row) pairs finds repeats in O(n log n) without a hash set of a million
    // entries; equal keys end up adjacent with the earlier row first.
    let mut ids: Vec<(i64, u32)> = records.iter().enumerate().map(|(i, r)| (r.record_id, i as u32)).collect();
    ids.sort_unstable();
    for pair in ids.windows(2) {
        if pair[0].0 == pair[1].0 {
            let (first, later) = (pair[0].1 as usize, pair[1].1 as usize);
            note(
                later,
                ListError::new(
                    source,
                    Some(lines[later]),
                    Some("record_id"),
                    format!("record id {} already used on line {}", pair[0].0, lines[first]),
                ),
            );
        }
    }
    let mut chains: Vec<(i64, i32, u32)> =
        records.iter().enumerate().map(|(i, r)| (r.chain_id, r.chain_n, i as u32)).collect();
    chains.sort_unstable();
    for pair in chains.windows(2) {
        if (pair[0].0, pair[0].1) == (pair[1].0, pair[1].1) {
            let (first, later) = (pair[0].2 as usize, pair[1].2 as usize);
            note(
                later,
                ListError::new(
                    source,
                    Some(lines[later]),
                    Some("chain_n"),
                    format!(
                        "chain {} position {} already used on line {}",
                        pair[0].0, pair[0].1, lines[first]
                    ),
                ),
            );
        }
    }
    match first_dup {
        Some((_, err)) => Err(err),
        None => Ok(()),
    }
}

/// The known column `name` is probably a misspelling of: (for names of five letters or more)
/// one slip of the keyboard away, in any letter case: a letter added, dropped,
/// changed, or two neighbours swapped. Two slips are not looked for: real lists' custom
/// columns are often two letters from a known name (`customer_no`, `record_no`, `call_type`,
/// `chain`), and refusing them would turn away good data.
fn near_known_column(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    MANDATORY_COLUMNS
        .iter()
        .chain(OPTIONAL_COLUMNS)
        .copied()
        .find(|known| known.len() >= 5 && edit_distance(known, &name) <= 1)
}

/// Edit distance between two short names counting insertions, deletions, substitutions and
/// swaps of adjacent letters (the optimal string alignment distance: Damerau, "A technique
/// for computer detection and correction of spelling errors", CACM 7(3), 1964), by the
/// classic dynamic programme over a full table.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

fn csv_error(source: &str, e: &csv::Error, names: &[String]) -> ListError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
            let line = pos.as_ref().map(|p| p.line());
            // Name the first column the short row lacks, or say the row runs past the header.
            let field = if len < expected_len {
                names.get(*len as usize).cloned()
            } else {
                Some(format!("(column {})", expected_len + 1))
            };
            ListError::new(
                source,
                line,
                field.as_deref(),
                format!("the row has {len} fields but the header has {expected_len}"),
            )
        }
        _ => ListError::new(source, e.position().map(|p| p.line()), None, e.to_string()),
    }
}

fn int(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let v: i64 = text.parse().map_err(|_| {
        if text.is_empty() {
            "empty: an integer is required".to_owned()
        } else {
            format!("`{text}` is not an integer")
        }
    })?;
    if v < min || v > max {
        return Err(format!("{v} is out of range {min}..={max}"));
    }
    Ok(v)
}

fn int32(text: &str, min: i32, max: i32) -> Result<i32, String> {
    int(text, i64::from(min), i64::from(max)).map(|v| v as i32)
}

fn opt_int(text: &str, min: i64, max: i64) -> Result<Option<i64>, String> {
    if text.is_empty() { Ok(None) } else { int(text, min, max).map(Some) }
}

fn opt_str(text: &str) -> Option<CompactString> {
    (!text.is_empty()).then(|| CompactString::from(text))
}

fn enumeration<T>(
    text: &str,
    from_code: fn(i64) -> Option<T>,
    from_label: fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, String> {
    if text.is_empty() {
        return Err(format!("empty: a {what} is required"));
    }
    match text.parse::<i64>() {
        Ok(code) => from_code(code),
        Err(_) => from_label(text),
    }
    .ok_or_else(|| format!("`{text}` is not a {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_column_is_a_known_one_and_no_custom_name_can_shadow_it() {
        for name in MANDATORY_COLUMNS.iter().chain(OPTIONAL_COLUMNS) {
            assert!(Col::known(name).is_some(), "{name}");
        }
        assert_eq!(Col::known("record_handle"), None);
    }

    #[test]
    fn written_header_lists_mandatory_then_optional_then_custom_columns() {
        let format = ListFormat {
            custom: vec![
                CustomFieldDef::new("a", FieldType::Int, Some("key_a")),
                CustomFieldDef::new("b", FieldType::Varchar, None),
            ],
        };
        let mut out = Vec::new();
        CallingList::new("L", format).write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "record_id,contact_info,contact_info_type,record_type,record_status,call_result,attempts,\
             dial_sched_time,call_time,daily_from,daily_till,agent_id,chain_id,chain_n,tz_name,tz_offset,\
             customer_id,switch_dbid,a:INT:key_a,b:VARCHAR\n"
        );
    }

    #[test]
    fn misspelt_columns_are_caught_and_custom_names_left_alone() {
        assert_eq!(edit_distance("tz_offset", "tz_ofset"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("tz_offset", "tz_offest"), 1, "two neighbours swapped");
        assert_eq!(near_known_column("attempst"), Some("attempts"));
        assert_eq!(near_known_column("tz_ofset"), Some("tz_offset"));
        assert_eq!(near_known_column("Tz_Ofset"), Some("tz_offset"));
        assert_eq!(Col::known("Record_ID"), Some(Col::RecordId), "known columns in any case");
        assert_eq!(near_known_column("customerid"), Some("customer_id"));
        for custom in ["tier", "notes", "balance", "score", "name", "region", "segment"] {
            assert_eq!(near_known_column(custom), None, "{custom}");
        }
        // Common custom columns of real calling lists two edits from a known name: a
        // customer or record number, a call type, a chain (household) name.
        for custom in ["customer_no", "customer_nr", "record_no", "call_type", "chain", "switch_id"] {
            assert_eq!(near_known_column(custom), None, "{custom}");
        }
    }

    #[test]
    fn enumerations_read_codes_labels_and_variant_names() {
        let phone = |t| enumeration(t, PhoneType::from_code, PhoneType::from_label, "phone type");
        assert_eq!(phone("4"), Ok(PhoneType::Mobile));
        assert_eq!(phone("Mobile"), Ok(PhoneType::Mobile));
        assert_eq!(phone("Business With Ext"), Ok(PhoneType::BusinessWithExt));
        assert_eq!(phone("BusinessWithExt"), Ok(PhoneType::BusinessWithExt));
        assert_eq!(phone("12"), Err("`12` is not a phone type".to_owned()));
        assert_eq!(phone(""), Err("empty: a phone type is required".to_owned()));
        assert_eq!(phone(" 4"), Err("` 4` is not a phone type".to_owned()), "no trimming");
    }
}
