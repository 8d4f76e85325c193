//! The record's data as it travels: on desktop events (PreviewRecord, ChainedRecord,
//! ScheduledCall) and in a dialed call's user data.
//!
//! Both carry the default record information and the custom fields that have a
//! send_attribute, typed by the spec's custom data formats: INT as an integer, every other
//! type (FLOAT, CHAR, DATETIME, VARCHAR) as a string.

use compact_str::CompactString;

use super::{GroupId, Server};
use crate::campaign::script_id;
use crate::kv::{Key, KnownKey, KvList, Value};
use crate::protocol::RecordData;
use crate::records::{FieldType, ListFormat, ListId, Record, RecordHandle};

/// Per group and list: the record's script id and the custom fields' send keys.
pub(super) struct ListMeta {
    list: ListId,
    script_id: Option<i64>,
    send_keys: Vec<Option<Key>>,
}

/// The keys a list's custom fields are sent under (`None`: not sent), in column order.
pub(super) fn send_keys(format: &ListFormat) -> Vec<Option<Key>> {
    format.custom.iter().map(|def| def.send_attribute.as_deref().map(Key::new)).collect()
}

/// Custom fields of a record by their send_attribute keys (`keys` from [`send_keys`]).
pub(super) fn custom_to_kv(format: &ListFormat, keys: &[Option<Key>], record: &Record, kv: &mut KvList) {
    for ((def, key), value) in format.custom.iter().zip(keys).zip(&record.custom) {
        let (Some(key), Some(value)) = (key, value) else { continue };
        let value = match (def.data_type, value) {
            (FieldType::Int, Value::Int(i)) => Value::Int(*i),
            (_, Value::Int(i)) => Value::from(i.to_string()),
            (_, other) => other.clone(),
        };
        kv.push_unique(key.clone(), value);
    }
}

/// A custom field sent with a type its column does not take.
#[derive(Debug)]
pub(super) struct WrongType;

/// Reads custom fields from a request by their send_attribute keys into (column, value)
/// pairs. Keys that name no column are ignored (only fields with a send_attribute can be
/// updated); a value the column's type refuses is an error.
pub(super) fn custom_from_kv(format: &ListFormat, custom: &KvList) -> Result<Vec<(usize, Value)>, WrongType> {
    let mut values = Vec::new();
    for (key, value) in custom {
        let Some(column) = format.index_of_send_attribute(key.as_str()) else { continue };
        let data_type = format.custom[column].data_type;
        let value = match (data_type, value) {
            (FieldType::Int, Value::Int(i)) => Value::Int(*i),
            (_, Value::Int(i)) => data_type.parse(&i.to_string()).map_err(|_| WrongType)?,
            (_, Value::Str(s)) => data_type.parse(s).map_err(|_| WrongType)?,
            (_, Value::List(_)) => return Err(WrongType),
        };
        values.push((column, value));
    }
    Ok(values)
}

impl Server {
    /// The script of a record of list `list` in group `g`: the list's own (set on the list,
    /// or in the server configuration by list name), then the campaign's, then the group's.
    fn record_script_id(&self, g: GroupId, list: &crate::records::CallingList) -> Option<i64> {
        let group = &self.groups[g];
        let list_script = list.script_id().or_else(|| self.config.list_script_ids.get(list.name()).copied());
        script_id(list_script, group.config.campaign_script_id, group.config.script_id)
    }

    /// What a record of list `id` in group `g` carries besides its fields: the script and
    /// the send keys, worked out once when the group is loaded.
    pub(super) fn list_meta(&self, g: GroupId, id: ListId) -> ListMeta {
        let list = self.store.list(id);
        ListMeta { list: id, script_id: self.record_script_id(g, list), send_keys: send_keys(list.format()) }
    }

    /// The record as a desktop event carries it. `push` adds the Push Preview keys (the
    /// assigned agent's id and the switch).
    pub(super) fn record_data(&self, g: GroupId, h: i64, push: bool) -> RecordData {
        let record = self.store.get(RecordHandle(h)).expect("a held record is in the store");
        let list_id = self.store.list_of(RecordHandle(h)).expect("a stored record has a list");
        let list = self.store.list(list_id);
        let group = &self.groups[g];
        let mut extra = KvList::new();
        let meta = self.groups[g].list_meta.iter().find(|m| m.list == list_id);
        let fresh;
        let meta = match meta {
            Some(meta) => meta,
            None => {
                fresh = self.list_meta(g, list_id);
                &fresh
            }
        };
        if let Some(script) = meta.script_id {
            extra.push_known(KnownKey::ScriptId, Value::Int(script));
        }
        if push {
            let agent =
                self.held.get(&h).and_then(|held| held.place).map(|p| self.places[p].agent_id.clone());
            if let Some(agent) = agent {
                extra.push_known(KnownKey::AgentId, Value::Str(agent));
            }
            let switch = record.switch_dbid.unwrap_or(group.config.options.switch_dbid);
            extra.push_known(KnownKey::SwitchDbid, Value::Int(switch));
        }
        extra.push_known(KnownKey::TzName, Value::Str(record.tz_name.clone()));
        let mut custom = KvList::new();
        custom_to_kv(list.format(), &meta.send_keys, record, &mut custom);
        RecordData {
            record_handle: h,
            calling_list: list.name().into(),
            campaign_name: group.config.campaign.as_str().into(),
            group_name: group.config.name.as_str().into(),
            group_description: group.config.description.as_str().into(),
            phone: record.phone.clone(),
            phone_type: record.phone_type,
            call_result: record.call_result,
            attempts: i64::from(record.attempts),
            call_time: record.call_time.unwrap_or(0),
            chain_id: record.chain_id,
            daily_from_s: i64::from(record.daily_from_s),
            daily_until_s: i64::from(record.daily_till_s),
            tz_offset_s: i64::from(record.offset_at(self.last_now)),
            contact_media_type: record.phone_type.media_type(),
            cpn_digits: group.cpn_digits.clone().unwrap_or_default(),
            extra,
            custom,
        }
    }

    /// The user data of a dialed call: the default record information and custom fields.
    /// A call whose record left it (rejected or cancelled mid-call) carries the group's
    /// keys only.
    pub(super) fn call_kv(&self, g: GroupId, h: i64) -> KvList {
        let group = &self.groups[g];
        let s = |text: &str| Value::Str(CompactString::from(text));
        let (Some(record), Some(list_id)) =
            (self.store.get(RecordHandle(h)), self.store.list_of(RecordHandle(h)))
        else {
            let mut kv = KvList::with_capacity(4);
            kv.push_known(KnownKey::ApplicationId, Value::Int(self.application_id));
            kv.push_known(KnownKey::CampaignName, s(&group.config.campaign));
            kv.push_known(KnownKey::CampaignGroupName, s(&group.config.name));
            return kv;
        };
        let list = self.store.list(list_id);
        let meta = group.list_meta.iter().find(|m| m.list == list_id);
        let fresh;
        let meta = match meta {
            Some(meta) => meta,
            None => {
                fresh = self.list_meta(g, list_id);
                &fresh
            }
        };
        let mut kv = KvList::with_capacity(16 + list.format().custom.len());
        kv.push_known(KnownKey::ApplicationId, Value::Int(self.application_id));
        kv.push_known(KnownKey::RecordHandle, Value::Int(h));
        kv.push_known(KnownKey::CallingList, s(list.name()));
        kv.push_known(KnownKey::CampaignName, s(&group.config.campaign));
        kv.push_known(KnownKey::CampaignGroupName, s(&group.config.name));
        kv.push_known(KnownKey::CampaignGroupDescription, s(&group.config.description));
        // A dial in progress counts, though the store learns of it only when the record
        // goes back.
        let dialing = self.held.get(&h).is_some_and(|held| held.dialed);
        kv.push_known(KnownKey::Attempts, Value::Int(i64::from(record.attempts) + i64::from(dialing)));
        kv.push_known(KnownKey::CallResult, Value::Int(record.call_result.code()));
        kv.push_known(KnownKey::ChainId, Value::Int(record.chain_id));
        kv.push_known(KnownKey::Phone, Value::Str(record.phone.clone()));
        kv.push_known(KnownKey::TzOffset, Value::Int(i64::from(record.offset_at(self.last_now))));
        kv.push_known(KnownKey::CampaignMode, s(group.mode.as_str()));
        if let Some(script) = meta.script_id {
            kv.push_known(KnownKey::ScriptId, Value::Int(script));
        }
        if let Some(cpn) = &group.cpn_digits {
            kv.push_known(KnownKey::CpnDigits, Value::Str(cpn.clone()));
        }
        custom_to_kv(list.format(), &meta.send_keys, record, &mut kv);
        kv
    }
}
