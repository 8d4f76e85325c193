//! The protocol's enumerations, each with its wire values, and the `GSW_DATE_TIME` format.

use std::fmt;

/// Declares an enumeration carried as an integer, with its display name.
macro_rules! int_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:literal => $label:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The integer carried on the wire.
            pub const fn code(self) -> i64 {
                match self {
                    $($name::$variant => $value,)*
                }
            }

            /// The value carried as `code` on the wire, if it is one.
            pub const fn from_code(code: i64) -> Option<$name> {
                match code {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The descriptive name operators see.
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            /// The value whose label, or Rust variant name, is `name`.
            pub fn from_label(name: &str) -> Option<$name> {
                match name {
                    $($label => Some($name::$variant),)*
                    $(stringify!($variant) => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

/// Declares an enumeration carried as a string.
macro_rules! str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal $(| $alias:literal)*,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The string carried on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }

            /// The value carried as `wire` (or one of its documented aliases), if any.
            pub fn from_wire(wire: &str) -> Option<$name> {
                match wire {
                    $($wire $(| $alias)* => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

int_enum! {
    /// Call results (`GSW_CALL_RESULT`, the calling list's `call_result` field), from the
    /// enumeration in `shared/spec/call-results.csv`.
    pub enum CallResult {
        /// Unset.
        Ok = 0 => "Ok",
        /// Transferred.
        Transferred = 1 => "Transferred",
        /// Conferenced.
        Conferenced = 2 => "Conferenced",
        /// General error.
        GeneralError = 3 => "General Error",
        /// System error.
        SystemError = 4 => "System Error",
        /// Released by the remote party.
        RemoteRelease = 5 => "Remote Release",
        /// Busy.
        Busy = 6 => "Busy",
        /// No answer.
        NoAnswer = 7 => "No Answer",
        /// Special information tone detected.
        SitDetected = 8 => "SIT Detected",
        /// Answering machine detected.
        AnsweringMachineDetected = 9 => "Answering Machine Detected",
        /// All trunks busy.
        AllTrunksBusy = 10 => "All Trunks Busy",
        /// SIT: invalid number.
        SitInvalidNum = 11 => "SIT Invalid Num",
        /// SIT: vacant code.
        SitVC = 12 => "SIT VC (Vacant Code)",
        /// SIT: intercept.
        SitIC = 13 => "SIT IC (Intercept)",
        /// SIT: unknown call state.
        SitUnknownCallState = 14 => "SIT Unknown Call State",
        /// SIT: no circuit.
        SitNC = 15 => "SIT NC (No Circuit)",
        /// SIT: reorder.
        SitRO = 16 => "SIT RO (Reorder)",
        /// Fax detected.
        FaxDetected = 17 => "Fax Detected",
        /// Queue full.
        QueueFull = 18 => "Queue Full",
        /// Cleared.
        Cleared = 19 => "Cleared",
        /// Overflowed.
        Overflowed = 20 => "Overflowed",
        /// Abandoned by the customer before reaching an agent.
        Abandoned = 21 => "Abandoned",
        /// Redirected.
        Redirected = 22 => "Redirected",
        /// Forwarded.
        Forwarded = 23 => "Forwarded",
        /// Consult.
        Consult = 24 => "Consult",
        /// Picked up.
        PickedUp = 25 => "Picked Up",
        /// Dropped (an answered call the dialer released: an overdial).
        Dropped = 26 => "Dropped",
        /// Dropped on no answer.
        DroppedOnNoAnswer = 27 => "Dropped on No Answer",
        /// Unknown; the default for new records.
        UnknownCallResult = 28 => "Unknown Call Result",
        /// Covered.
        Covered = 29 => "Covered",
        /// Converse-on.
        ConverseOn = 30 => "Converse-On",
        /// Bridged.
        Bridged = 31 => "Bridged",
        /// Silence.
        Silence = 32 => "Silence",
        /// Answered by a person.
        Answer = 33 => "Answer",
        /// Number-unobtainable tone.
        NUTone = 34 => "NU Tone",
        /// No dial tone.
        NoDialTone = 35 => "No Dial Tone",
        /// No progress.
        NoProgress = 36 => "No Progress",
        /// No ring-back tone.
        NoRingBackTone = 37 => "No Ring Back Tone",
        /// No established detected.
        NoEstablishedDetected = 38 => "No Established Detected",
        /// Pager detected.
        PagerDetected = 39 => "Pager Detected",
        /// Wrong party.
        WrongParty = 40 => "Wrong Party",
        /// Dial error.
        DialError = 41 => "Dial Error",
        /// Call drop error.
        CallDropError = 42 => "Call Drop Error",
        /// Switch error.
        SwitchError = 43 => "Switch Error",
        /// No port available.
        NoPortAvailable = 44 => "No Port Available",
        /// Transfer error.
        TransferError = 45 => "Transfer Error",
        /// Left on a desktop past the stale timeout.
        Stale = 46 => "Stale",
        /// Personal callback error.
        AgentCallBackError = 47 => "Agent CallBack Error",
        /// Group callback error.
        GroupCallBackError = 48 => "Group CallBack Error",
        /// Deafened.
        Deafened = 49 => "Deafened",
        /// Held.
        Held = 50 => "Held",
        /// Do not call.
        DoNotCall = 51 => "Do Not Call",
        /// Record cancelled.
        CancelRecord = 52 => "Cancel Record",
        /// Wrong number.
        WrongNumber = 53 => "Wrong Number",
    }
}

impl CallResult {
    /// True for results that mean a person answered.
    pub const fn is_live_answer(self) -> bool {
        matches!(self, CallResult::Answer)
    }
}

int_enum! {
    /// Phone type (`GSW_PHONE_TYPE`, the `contact_info_type` field).
    pub enum PhoneType {
        /// No contact type.
        NoContactType = 0 => "No Contact Type",
        /// Home phone.
        HomePhone = 1 => "Home Phone",
        /// Direct business phone (the default for added records).
        DirectBusinessPhone = 2 => "Direct Business Phone",
        /// Business phone with extension.
        BusinessWithExt = 3 => "Business With Ext",
        /// Mobile.
        Mobile = 4 => "Mobile",
        /// Vacation phone.
        VacationPhone = 5 => "Vacation Phone",
        /// Pager.
        Pager = 6 => "Pager",
        /// Modem.
        Modem = 7 => "Modem",
        /// Voice mail.
        VoiceMail = 8 => "Voice Mail",
        /// PIN pager.
        PinPager = 9 => "Pin Pager",
        /// E-mail address.
        EmailAddress = 10 => "E-mail Address",
        /// Instant messaging.
        InstantMessaging = 11 => "Instant Messaging",
    }
}

impl PhoneType {
    /// The media type a contact of this type is reached by (the spec's media-type table;
    /// types it leaves out, pagers and modems, count as `any`).
    pub const fn media_type(self) -> ContactMediaType {
        match self {
            PhoneType::HomePhone
            | PhoneType::DirectBusinessPhone
            | PhoneType::BusinessWithExt
            | PhoneType::Mobile
            | PhoneType::VacationPhone
            | PhoneType::VoiceMail => ContactMediaType::Voice,
            PhoneType::EmailAddress => ContactMediaType::Email,
            PhoneType::InstantMessaging => ContactMediaType::InstantMessage,
            PhoneType::NoContactType | PhoneType::Pager | PhoneType::Modem | PhoneType::PinPager => {
                ContactMediaType::Any
            }
        }
    }
}

int_enum! {
    /// Record status (`GSW_RECORD_STATUS`, the `record_status` field).
    pub enum RecordStatus {
        /// No status.
        NoRecordStatus = 0 => "No Record Status",
        /// Ready to be retrieved.
        Ready = 1 => "Ready",
        /// Retrieved by the server.
        Retrieved = 2 => "Retrieved",
        /// Updated (processed).
        Updated = 3 => "Updated",
        /// Left on a desktop too long.
        Stale = 4 => "Stale",
        /// Cancelled.
        Canceled = 5 => "Canceled",
        /// Agent error.
        AgentError = 6 => "Agent Error",
        /// A callback that was missed.
        MissedCallBack = 8 => "Missed CallBack",
    }
}

int_enum! {
    /// Record type (`GSW_RECORD_TYPE`, the `record_type` field).
    pub enum RecordType {
        /// No type.
        NoRecordType = 0 => "No Record Type",
        /// Unknown.
        Unknown = 1 => "Unknown",
        /// General (the default).
        General = 2 => "General",
        /// Rescheduled by campaign treatment.
        CampaignRescheduled = 3 => "Campaign Rescheduled",
        /// Rescheduled for the same agent by treatment.
        PersonalRescheduled = 4 => "Personal Rescheduled",
        /// Callback for one agent.
        PersonalCallBack = 5 => "Personal CallBack",
        /// Callback for any agent of the group.
        CampaignCallBack = 6 => "Campaign CallBack",
        /// Do not call.
        NoCall = 7 => "No Call",
    }
}

int_enum! {
    /// Dialing mode as a number (`GSW_DIAL_MODE`); [`DialMode::as_str`] gives the name carried
    /// in `GSW_CAMPAIGN_MODE`.
    pub enum DialMode {
        /// Predictive.
        Predictive = 1 => "Predictive",
        /// Progressive.
        Progressive = 2 => "Progressive",
        /// Preview.
        Preview = 3 => "Preview",
        /// Progressive with seizing (engaged progressive): the agent is seized before dialing.
        ProgressiveWithSeizing = 4 => "Progressive with Seizing",
        /// Predictive with seizing (engaged predictive).
        PredictiveWithSeizing = 5 => "Predictive with Seizing",
        /// Push preview: records are pushed to agents as interactions.
        PushPreview = 8 => "Push Preview",
        /// Progressive GVP: agentless, paced by IVR ports, one call per free port.
        ProgressiveGvp = 9 => "Progressive GVP",
        /// Power GVP: agentless, paced by IVR ports, predictive over ports.
        PowerGvp = 11 => "Power GVP",
    }
}

impl DialMode {
    /// The name carried in `GSW_CAMPAIGN_MODE`.
    pub const fn as_str(self) -> &'static str {
        self.label()
    }

    /// The mode named `name` in `GSW_CAMPAIGN_MODE`, also accepting the log spellings
    /// (`Engaged Predictive`, `Engaged Progressive`) and the short `GSW_DIAL_MODE` names
    /// (`Predict`, `Progress`, `ProgressAndSeize`, `PredictAndSeize`, `PushPreview`,
    /// `ProgressiveGVP`, `PowerGVP`).
    pub fn from_wire(name: &str) -> Option<DialMode> {
        DialMode::from_label(name).or(match name {
            "Engaged Predictive" | "PredictAndSeize" => Some(DialMode::PredictiveWithSeizing),
            "Engaged Progressive" | "ProgressAndSeize" => Some(DialMode::ProgressiveWithSeizing),
            "Predict" => Some(DialMode::Predictive),
            "Progress" => Some(DialMode::Progressive),
            "ProgressiveGVP" => Some(DialMode::ProgressiveGvp),
            "PowerGVP" => Some(DialMode::PowerGvp),
            _ => None,
        })
    }

    /// True for the modes in which the engine places calls itself and routes them to agents.
    pub const fn is_auto(self) -> bool {
        matches!(
            self,
            DialMode::Predictive
                | DialMode::Progressive
                | DialMode::PredictiveWithSeizing
                | DialMode::ProgressiveWithSeizing
        )
    }

    /// True for the modes in which records go to agents to dial themselves.
    pub const fn is_preview(self) -> bool {
        matches!(self, DialMode::Preview | DialMode::PushPreview)
    }

    /// True for the modes that seize an agent before dialing (ASM).
    pub const fn is_seizing(self) -> bool {
        matches!(self, DialMode::PredictiveWithSeizing | DialMode::ProgressiveWithSeizing)
    }

    /// True for the agentless IVR modes.
    pub const fn is_gvp(self) -> bool {
        matches!(self, DialMode::ProgressiveGvp | DialMode::PowerGvp)
    }

    /// True for the modes that use the predictive pacing algorithms.
    pub const fn is_predictive(self) -> bool {
        matches!(self, DialMode::Predictive | DialMode::PredictiveWithSeizing | DialMode::PowerGvp)
    }
}

str_enum! {
    /// Callback type (`GSW_CALLBACK_TYPE`).
    pub enum CallbackType {
        /// For the agent who scheduled it.
        Personal => "Personal",
        /// For any agent of the group.
        Campaign => "Campaign",
    }
}

str_enum! {
    /// Treatment asked for by RecordProcessed (`GSW_TREATMENT`). The spaced spellings that
    /// appear in one of the spec's tables are accepted too.
    pub enum Treatment {
        /// Reschedule the record as Personal Rescheduled, like a personal callback.
        RecordTreatPersonal => "RecordTreatPersonal" | "RecordTreat Personal",
        /// Reschedule the record as Campaign Rescheduled, like a treatment reschedule.
        RecordTreatCampaign => "RecordTreatCampaign" | "RecordTreat Campaign",
    }
}

str_enum! {
    /// Whether a cancel or do-not-call applies to the whole chain (`GSW_CHAIN_ATTR`).
    pub enum ChainAttr {
        /// Every record of the chain (the default).
        AllChain => "AllChain",
        /// Only the record named.
        RecordOnly => "RecordOnly",
    }
}

str_enum! {
    /// Media type of a contact (`GSW_CONTACT_MEDIA_TYPE`).
    pub enum ContactMediaType {
        /// Any media.
        Any => "any",
        /// Voice call.
        Voice => "voice",
        /// E-mail.
        Email => "email",
        /// Instant message.
        InstantMessage => "instant message" | "chat",
    }
}

/// A wall-clock date and time in a record's own time zone, as carried by `GSW_DATE_TIME`
/// (`MM/DD/YY HH:MM` or `MM/DD/YYYY HH:MM`).
///
/// It remembers which of the two year forms it was read in and is written back in that form,
/// so an acknowledgement carries the time as the desktop wrote it; the form takes no part in
/// comparisons.
#[derive(Clone, Copy, Debug)]
pub struct LocalDateTime {
    at: jiff::civil::DateTime,
    two_digit_year: bool,
}

impl PartialEq for LocalDateTime {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for LocalDateTime {}

impl std::hash::Hash for LocalDateTime {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.at.hash(state);
    }
}

impl PartialOrd for LocalDateTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LocalDateTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

impl LocalDateTime {
    /// A validated local date and time (minute precision), written with a four-digit year.
    pub fn new(year: i16, month: i8, day: i8, hour: i8, minute: i8) -> Option<LocalDateTime> {
        jiff::civil::DateTime::new(year, month, day, hour, minute, 0, 0)
            .ok()
            .map(|at| LocalDateTime { at, two_digit_year: false })
    }

    /// Parses `MM/DD/YY HH:MM` or `MM/DD/YYYY HH:MM`. Month, day and hour may have one or two
    /// digits; minutes have two; a two-digit year `YY` means 20YY below 70 and 19YY from 70.
    ///
    /// ```
    /// use pacer_engine::protocol::LocalDateTime;
    /// let a = LocalDateTime::parse("03/15/27 14:30").unwrap();
    /// assert_eq!(a, LocalDateTime::parse("03/15/2027 14:30").unwrap());
    /// assert_eq!(a.to_string(), "03/15/27 14:30");
    /// assert!(LocalDateTime::parse("02/30/2027 10:00").is_none());
    /// assert!(LocalDateTime::parse("25/45/00 10:00").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<LocalDateTime> {
        let (date, time) = text.split_once(' ')?;
        let mut date_parts = date.split('/');
        let month = number(date_parts.next()?, 1, 2)?;
        let day = number(date_parts.next()?, 1, 2)?;
        let year_text = date_parts.next()?;
        if date_parts.next().is_some() {
            return None;
        }
        let two_digit_year = year_text.len() == 2;
        let year = match year_text.len() {
            2 => {
                let yy = number(year_text, 2, 2)?;
                if yy < 70 { 2000 + yy } else { 1900 + yy }
            }
            4 => number(year_text, 4, 4)?,
            _ => return None,
        };
        let (hour, minute) = time.split_once(':')?;
        let hour = number(hour, 1, 2)?;
        let minute = number(minute, 2, 2)?;
        let at = LocalDateTime::new(
            i16::try_from(year).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
            i8::try_from(hour).ok()?,
            i8::try_from(minute).ok()?,
        )?;
        Some(LocalDateTime { two_digit_year, ..at })
    }

    /// Unix seconds of this local time in a zone `tz_offset_s` seconds east of UTC.
    ///
    /// Computed by calendar arithmetic rather than through a timestamp type, so every date
    /// this type holds has an answer: a timestamp stops short of the last hours of year 9999,
    /// which `12/31/9999 23:59` reaches.
    pub fn to_unix(self, tz_offset_s: i64) -> i64 {
        let dt = self.at;
        let days = days_from_civil(i64::from(dt.year()), i64::from(dt.month()), i64::from(dt.day()));
        days * 86_400 + i64::from(dt.hour()) * 3600 + i64::from(dt.minute()) * 60 - tz_offset_s
    }

    /// The local time, in a zone `tz_offset_s` seconds east of UTC, of Unix second `unix_s`.
    pub fn from_unix(unix_s: i64, tz_offset_s: i64) -> Option<LocalDateTime> {
        let ts = jiff::Timestamp::from_second(unix_s.checked_add(tz_offset_s)?).ok()?;
        let dt = jiff::tz::Offset::UTC.to_datetime(ts);
        LocalDateTime::new(dt.year(), dt.month(), dt.day(), dt.hour(), dt.minute())
    }

    /// Seconds from local midnight.
    pub fn seconds_of_day(self) -> i64 {
        i64::from(self.at.hour()) * 3600 + i64::from(self.at.minute()) * 60
    }

    /// The calendar year.
    pub fn year(self) -> i16 {
        self.at.year()
    }
}

impl fmt::Display for LocalDateTime {
    /// Formats as `MM/DD/YYYY HH:MM`, the unambiguous of the two accepted forms, or as
    /// `MM/DD/YY HH:MM` when it was read in that form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.at;
        if self.two_digit_year {
            let yy = d.year() % 100;
            write!(f, "{:02}/{:02}/{:02} {:02}:{:02}", d.month(), d.day(), yy, d.hour(), d.minute())
        } else {
            write!(f, "{:02}/{:02}/{:04} {:02}:{:02}", d.month(), d.day(), d.year(), d.hour(), d.minute())
        }
    }
}

/// Parses `text` as `min_digits..=max_digits` ASCII digits.
fn number(text: &str, min_digits: usize, max_digits: usize) -> Option<i32> {
    if text.len() < min_digits || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`: Howard Hinnant's
/// `days_from_civil` ("chrono-Compatible Low-Level Date Algorithms"), which counts in
/// 400-year eras from a year that starts in March.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_results_match_the_csv_enumeration() {
        let csv = include_str!("../../tests/data/call-results.csv");
        let mut n = 0;
        for line in csv.lines().skip(1) {
            let (name, value) = line.rsplit_once(',').unwrap();
            let value: i64 = value.parse().unwrap();
            let result = CallResult::from_code(value).unwrap();
            assert_eq!(result.label(), name);
            assert_eq!(CallResult::from_label(name), Some(result));
            n += 1;
        }
        assert_eq!(n, CallResult::ALL.len());
        assert_eq!(CallResult::from_code(54), None);
    }

    #[test]
    fn dial_modes_by_name_and_number() {
        for &mode in DialMode::ALL {
            assert_eq!(DialMode::from_wire(mode.as_str()), Some(mode));
            assert_eq!(DialMode::from_code(mode.code()), Some(mode));
        }
        assert_eq!(DialMode::from_wire("Engaged Predictive"), Some(DialMode::PredictiveWithSeizing));
        assert_eq!(DialMode::from_code(11), Some(DialMode::PowerGvp));
        assert_eq!(DialMode::from_code(6), None);
        assert_eq!(DialMode::from_wire("predictive"), None, "names are case-sensitive");
    }

    #[test]
    fn calendar_arithmetic_agrees_with_jiff() {
        // Every 97th day from year 1 to 9998 (leap days and century years among them).
        let mut date = jiff::civil::date(1, 1, 1);
        while date.year() < 9999 {
            let t = LocalDateTime::new(date.year(), date.month(), date.day(), 13, 7).unwrap();
            let expected = jiff::tz::Offset::UTC.to_timestamp(t.at).unwrap().as_second();
            assert_eq!(t.to_unix(0), expected, "{date}");
            date = date.checked_add(jiff::Span::new().days(97)).unwrap();
        }
    }

    #[test]
    fn date_time_forms_and_malformed_ones() {
        let a = LocalDateTime::parse("12/31/99 23:59").unwrap();
        assert_eq!(a.to_string(), "12/31/99 23:59", "written back in the form read");
        assert_eq!(a, LocalDateTime::new(1999, 12, 31, 23, 59).unwrap());
        assert_eq!(LocalDateTime::new(1999, 12, 31, 23, 59).unwrap().to_string(), "12/31/1999 23:59");
        assert_eq!(LocalDateTime::parse("1/2/05 3:04").unwrap().to_string(), "01/02/05 03:04");
        assert_eq!(LocalDateTime::parse("02/29/2028 00:00").unwrap().to_string(), "02/29/2028 00:00");
        for bad in [
            "02/29/2027 00:00",
            "13/01/2027 10:00",
            "01/01/2027 24:00",
            "01/01/2027 10:60",
            "01/01/2027 10:5",
            "01/01/202 10:05",
            "01-01-2027 10:05",
            "01/01/2027T10:05",
            "01/01/2027  10:05",
            "",
            "0",
            "+1/01/2027 10:05",
        ] {
            assert!(LocalDateTime::parse(bad).is_none(), "{bad:?} should be malformed");
        }
        let t = LocalDateTime::parse("01/02/2027 03:04").unwrap();
        assert_eq!(LocalDateTime::from_unix(t.to_unix(-18000), -18000), Some(t));
        // The last minute a date can name has its Unix time (a timestamp type has none).
        let last = LocalDateTime::parse("12/31/9999 23:59").unwrap();
        assert_eq!(last.to_unix(0), 253_402_300_740);
        assert_eq!(LocalDateTime::parse("01/01/0000 00:00").unwrap().to_unix(0), -62_167_219_200);
        assert_eq!(t.to_unix(0) - t.to_unix(3600), 3600);
    }

    #[test]
    fn phone_types_map_to_media_types() {
        assert_eq!(PhoneType::Mobile.media_type(), ContactMediaType::Voice);
        assert_eq!(PhoneType::EmailAddress.media_type(), ContactMediaType::Email);
        assert_eq!(PhoneType::from_code(7), Some(PhoneType::Modem));
        assert_eq!(RecordStatus::from_code(7), None, "7 is not a record status");
        assert_eq!(Treatment::from_wire("RecordTreat Campaign"), Some(Treatment::RecordTreatCampaign));
    }
}
