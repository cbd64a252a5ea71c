//! The tables of keys. [`CHECK_KEYS`] is the one description of the arguments of
//! `#[health_check(...)]` and `#[health(check(...))]`: parsing looks keys up in it, "unknown
//! argument" errors list it and suggest from it, messages quote its examples and rules,
//! code generation calls the setter it names, and a unit test holds the `#[health_check]`
//! documentation to it. [`CONTAINER_KEYS`] and [`FIELD_KEYS`] do the same for the derive.

use std::fmt;

use crate::defaults;

/// A probe a check can gate, named like the runtime's `Probe` variant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Probe {
    /// The startup probe.
    Startup,
    /// The liveness probe.
    Live,
    /// The readiness probe.
    Ready,
}

impl Probe {
    /// The runtime's variant name.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Probe::Startup => "Startup",
            Probe::Live => "Live",
            Probe::Ready => "Ready",
        }
    }
}

/// Every key a check accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Key {
    Name,
    TimeoutMs,
    DegradedMs,
    Critical,
    Startup,
    Live,
    Ready,
    IntervalMs,
    FailureThreshold,
    SuccessThreshold,
    BreakerThreshold,
    BackoffMs,
    MaxBackoffMs,
    NoBreaker,
    Crate,
}

/// How a key's value is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// `key = "a string"`: the check's name.
    Name,
    /// `key = N`: a positive whole number of milliseconds (`u64`).
    Millis,
    /// `key = N`: a count of at least 1 (`u32`).
    Count,
    /// `key`, bare.
    Flag,
    /// `key = "some::path"`.
    CratePath,
}

impl Kind {
    /// How a whole number of this kind is described ("takes ...").
    pub(crate) fn whole(self) -> &'static str {
        match self {
            Kind::Millis => "whole milliseconds as an integer",
            _ => "a whole number",
        }
    }

    /// The literal that is expected ("takes ...").
    pub(crate) fn literal(self) -> &'static str {
        match self {
            Kind::Millis => "an integer literal of milliseconds",
            _ => "an integer literal",
        }
    }

    /// The largest accepted value, and its description.
    pub(crate) fn max(self) -> (u64, &'static str) {
        match self {
            Kind::Millis => (u64::MAX, "a u64 number of milliseconds"),
            _ => (u64::from(u32::MAX), "a u32"),
        }
    }
}

/// A key's value when it is not given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum KeyDefault {
    /// A number, read from `defaults.rs` (shared with the runtime).
    Number(u64),
    /// A rule or a state, in words.
    Words(&'static str),
}

impl fmt::Display for KeyDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDefault::Number(n) => write!(f, "{n}"),
            KeyDefault::Words(words) => f.write_str(words),
        }
    }
}

/// What the generated code does with a key: a call on the `CheckSpec` under construction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Setter {
    /// The value is the first argument of `CheckSpec::new`.
    New,
    /// `.method(value)`, the value typed by the key's [`Kind`].
    Value(&'static str),
    /// `.method()`.
    Unit(&'static str),
    /// `.method(true)`.
    Enable(&'static str),
    /// `.gates(Probe::Variant)`.
    Gates(Probe),
    /// Not a setter: where the generated code reaches the runtime.
    Root,
}

/// Where a key is accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scope {
    /// In `#[health_check(...)]` and in the field attribute `#[health(check(...))]`.
    Both,
    /// In `#[health_check(...)]` only (a derive names its runtime on the struct).
    Function,
}

/// Where check keys are being read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Site {
    /// `#[health_check(...)]`.
    Function,
    /// `#[health(check(...))]` on a field.
    Field,
}

/// One row of [`CHECK_KEYS`].
pub(crate) struct KeyDef {
    pub(crate) key: Key,
    /// The key as written.
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// What the key does, as documented on `#[health_check]` (held to it by a unit test).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) doc: &'static str,
    pub(crate) default: KeyDefault,
    pub(crate) setter: Setter,
    /// A value shown in messages (`timeout_ms = 500`); an example, not the default.
    pub(crate) example: &'static str,
    /// For a number, what a valid value is ("must be ..."); for a flag, how to write it.
    pub(crate) rule: &'static str,
    pub(crate) scope: Scope,
}

/// The check keys, in the order errors list them.
pub(crate) const CHECK_KEYS: &[KeyDef] = &[
    KeyDef {
        key: Key::Name,
        name: "name",
        kind: Kind::Name,
        doc: "the check's name in reports, URLs and metric labels: 1 to 63 lowercase letters, \
              digits, `_` or `-`, starting with a letter",
        default: KeyDefault::Words("the function's name (the field's name for a field check)"),
        setter: Setter::New,
        example: "\"database\"",
        rule: "a string literal",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::TimeoutMs,
        name: "timeout_ms",
        kind: Kind::Millis,
        doc: "the run is abandoned, and the check unhealthy, after N ms",
        default: KeyDefault::Number(defaults::DEFAULT_TIMEOUT_MS),
        setter: Setter::Value("timeout_ms"),
        example: "500",
        rule: "a positive number of milliseconds",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::DegradedMs,
        name: "degraded_ms",
        kind: Kind::Millis,
        doc: "a healthy run slower than N ms counts as degraded; below `timeout_ms`",
        default: KeyDefault::Words("none, a healthy run is never degraded"),
        setter: Setter::Value("degraded_ms"),
        example: "100",
        rule: "a positive number of milliseconds",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::Critical,
        name: "critical",
        kind: Kind::Flag,
        doc: "when the check is unhealthy, the probes it gates fail; otherwise they only degrade",
        default: KeyDefault::Words("not critical"),
        setter: Setter::Enable("critical"),
        example: "critical",
        rule: "write `critical`, or leave it out for a check whose failure only degrades",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::Startup,
        name: "startup",
        kind: Kind::Flag,
        doc: "the check gates the startup probe",
        default: KeyDefault::Words("a check that names no probe gates readiness"),
        setter: Setter::Gates(Probe::Startup),
        example: "startup",
        rule: "write `startup` to make the check gate the startup probe, or leave it out",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::Live,
        name: "live",
        kind: Kind::Flag,
        doc: "the check gates the liveness probe",
        default: KeyDefault::Words("a check that names no probe gates readiness"),
        setter: Setter::Gates(Probe::Live),
        example: "live",
        rule: "write `live` to make the check gate the live probe, or leave it out",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::Ready,
        name: "ready",
        kind: Kind::Flag,
        doc: "the check gates the readiness probe (with another probe: both)",
        default: KeyDefault::Words("a check that names no probe gates readiness"),
        setter: Setter::Gates(Probe::Ready),
        example: "ready",
        rule: "write `ready` to make the check gate the ready probe, or leave it out",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::IntervalMs,
        name: "interval_ms",
        kind: Kind::Millis,
        doc: "the time between two background runs; at least `timeout_ms`",
        default: KeyDefault::Number(defaults::DEFAULT_INTERVAL_MS),
        setter: Setter::Value("interval_ms"),
        example: "5000",
        rule: "a positive number of milliseconds",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::FailureThreshold,
        name: "failure_threshold",
        kind: Kind::Count,
        doc: "consecutive worse results needed before the reported status turns worse \
              (1: no damping)",
        default: KeyDefault::Number(defaults::DEFAULT_FAILURE_THRESHOLD as u64),
        setter: Setter::Value("failure_threshold"),
        example: "3",
        rule: "a count of at least 1 (1 turns damping off)",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::SuccessThreshold,
        name: "success_threshold",
        kind: Kind::Count,
        doc: "consecutive better results needed before the reported status turns better \
              (1: no damping)",
        default: KeyDefault::Number(defaults::DEFAULT_SUCCESS_THRESHOLD as u64),
        setter: Setter::Value("success_threshold"),
        example: "2",
        rule: "a count of at least 1 (1 turns damping off)",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::BreakerThreshold,
        name: "breaker_threshold",
        kind: Kind::Count,
        doc: "consecutive failed runs that open the circuit breaker; at least \
              `failure_threshold`",
        default: KeyDefault::Words("`failure_threshold + 1`"),
        setter: Setter::Value("breaker_threshold"),
        example: "3",
        rule: "a count of at least 1 (to turn the circuit breaker off, write `no_breaker` instead)",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::BackoffMs,
        name: "backoff_ms",
        kind: Kind::Millis,
        doc: "how long the circuit stays open the first time it opens",
        default: KeyDefault::Words("the interval"),
        setter: Setter::Value("backoff_ms"),
        example: "5000",
        rule: "a positive number of milliseconds",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::MaxBackoffMs,
        name: "max_backoff_ms",
        kind: Kind::Millis,
        doc: "the longest the circuit stays open; at least the first back-off, which replaces \
              the default when it is longer",
        default: KeyDefault::Number(defaults::DEFAULT_MAX_BACKOFF_MS),
        setter: Setter::Value("max_backoff_ms"),
        example: "60000",
        rule: "a positive number of milliseconds",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::NoBreaker,
        name: "no_breaker",
        kind: Kind::Flag,
        doc: "turns the circuit breaker off: the check runs every interval however often it \
              fails; excludes the three keys above",
        default: KeyDefault::Words("the breaker is on"),
        setter: Setter::Unit("no_breaker"),
        example: "no_breaker",
        rule: "write `no_breaker` to turn the circuit breaker off, or leave it out",
        scope: Scope::Both,
    },
    KeyDef {
        key: Key::Crate,
        name: "crate",
        kind: Kind::CratePath,
        doc: "the path through which the generated code reaches the runtime, e.g. \
              `\"health_core\"` or a re-export (on a derive, write it on the struct)",
        default: KeyDefault::Words("`::health_axum`"),
        setter: Setter::Root,
        example: "\"health_core\"",
        rule: "the path of the crate re-exporting the runtime as a string",
        scope: Scope::Function,
    },
];

impl Key {
    /// Every key, in the order of the enum. The `match` in [`Key::position`] fails to compile
    /// when a key is added without being listed here.
    #[cfg(test)]
    const ALL: [Key; 15] = [
        Key::Name,
        Key::TimeoutMs,
        Key::DegradedMs,
        Key::Critical,
        Key::Startup,
        Key::Live,
        Key::Ready,
        Key::IntervalMs,
        Key::FailureThreshold,
        Key::SuccessThreshold,
        Key::BreakerThreshold,
        Key::BackoffMs,
        Key::MaxBackoffMs,
        Key::NoBreaker,
        Key::Crate,
    ];

    /// The key's place in [`Key::ALL`].
    #[cfg(test)]
    const fn position(self) -> usize {
        match self {
            Key::Name => 0,
            Key::TimeoutMs => 1,
            Key::DegradedMs => 2,
            Key::Critical => 3,
            Key::Startup => 4,
            Key::Live => 5,
            Key::Ready => 6,
            Key::IntervalMs => 7,
            Key::FailureThreshold => 8,
            Key::SuccessThreshold => 9,
            Key::BreakerThreshold => 10,
            Key::BackoffMs => 11,
            Key::MaxBackoffMs => 12,
            Key::NoBreaker => 13,
            Key::Crate => 14,
        }
    }

    /// This key's row of [`CHECK_KEYS`].
    pub(crate) fn def(self) -> &'static KeyDef {
        CHECK_KEYS
            .iter()
            .find(|def| def.key == self)
            .expect("every key has a row")
    }

    /// The key as written.
    pub(crate) fn name(self) -> &'static str {
        self.def().name
    }

    /// The key's default as a number; `None` when it is a rule rather than a number.
    pub(crate) fn default_number(self) -> Option<u64> {
        match self.def().default {
            KeyDefault::Number(n) => Some(n),
            KeyDefault::Words(_) => None,
        }
    }
}

impl KeyDef {
    /// The row of the key written `name`, if it is accepted at `site`.
    pub(crate) fn find(name: &str, site: Site) -> Option<&'static KeyDef> {
        CHECK_KEYS
            .iter()
            .find(|def| def.name == name && def.accepted_at(site))
    }

    /// Whether the key is accepted at `site`.
    pub(crate) fn accepted_at(&self, site: Site) -> bool {
        matches!(
            (self.scope, site),
            (Scope::Both, _) | (Scope::Function, Site::Function)
        )
    }

    /// How the key is written, as documented (`timeout_ms = N`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn syntax(&self) -> String {
        match self.kind {
            Kind::Name => format!("{} = \"...\"", self.name),
            Kind::Millis | Kind::Count => format!("{} = N", self.name),
            Kind::Flag => self.name.to_string(),
            Kind::CratePath => format!("{} = \"path\"", self.name),
        }
    }

    /// `key = example`, as shown in messages.
    pub(crate) fn example(&self) -> String {
        match self.kind {
            Kind::Flag => self.name.to_string(),
            _ => format!("{} = {}", self.name, self.example),
        }
    }
}

/// The names of the check keys accepted at `site`, in table order.
pub(crate) fn check_key_names(site: Site) -> Vec<&'static str> {
    CHECK_KEYS
        .iter()
        .filter(|def| def.accepted_at(site))
        .map(|def| def.name)
        .collect()
}

/// A key of the derive's attributes: its name, its documentation and its default (the last
/// three are read by the unit test that holds the derive's documentation to this table).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct AttrKeyDef {
    pub(crate) name: &'static str,
    /// How the key is written, as documented.
    pub(crate) syntax: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) default: KeyDefault,
}

/// The keys of `#[health(...)]` on the struct.
pub(crate) const CONTAINER_KEYS: &[AttrKeyDef] = &[
    AttrKeyDef {
        name: "checks",
        syntax: "checks(path, ...)",
        doc: "the `#[health_check]` functions of this state, by path",
        default: KeyDefault::Words("no function check"),
    },
    AttrKeyDef {
        name: "version",
        syntax: "version = \"...\"",
        doc: "the version the reports show",
        default: KeyDefault::Words("the crate's `CARGO_PKG_VERSION`"),
    },
    AttrKeyDef {
        name: "crate",
        syntax: "crate = \"path\"",
        doc: "the path through which the generated code reaches the runtime",
        default: KeyDefault::Words("`::health_axum`"),
    },
];

/// The keys of `#[health(...)]` on a field.
pub(crate) const FIELD_KEYS: &[AttrKeyDef] = &[
    AttrKeyDef {
        name: "lifecycle",
        syntax: "lifecycle",
        doc: "marks the `Lifecycle` field; exactly one field has it",
        default: KeyDefault::Words("required"),
    },
    AttrKeyDef {
        name: "check",
        syntax: "check(...)",
        doc: "registers the field, whose type implements `HealthCheck`, as a check; takes the \
              arguments of `#[health_check]` except `crate`, in parentheses",
        default: KeyDefault::Words("the field is not a check"),
    },
];

/// The names of `keys`, in table order.
pub(crate) fn attr_key_names(keys: &[AttrKeyDef]) -> Vec<&'static str> {
    keys.iter().map(|def| def.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented line of a key: `- `syntax`: doc. Default: default.`
    fn line(syntax: &str, doc: &str, default: &KeyDefault) -> String {
        format!("- `{syntax}`: {doc}. Default: {default}.")
    }

    /// The bullet lines of `doc` that document a key.
    fn bullets(doc: &str) -> Vec<&str> {
        doc.lines().filter(|l| l.starts_with("- `")).collect()
    }

    #[test]
    fn health_check_doc_lists_every_key_with_its_default() {
        let doc = include_str!("../doc/health_check.md");
        let expected: Vec<String> = CHECK_KEYS
            .iter()
            .map(|def| line(&def.syntax(), def.doc, &def.default))
            .collect();
        assert_eq!(
            bullets(doc),
            expected,
            "doc/health_check.md and CHECK_KEYS differ"
        );
    }

    #[test]
    fn health_state_doc_lists_every_key_with_its_default() {
        let doc = include_str!("../doc/health_state.md");
        let expected: Vec<String> = CONTAINER_KEYS
            .iter()
            .chain(FIELD_KEYS)
            .map(|def| line(def.syntax, def.doc, &def.default))
            .collect();
        assert_eq!(
            bullets(doc),
            expected,
            "doc/health_state.md and the key tables differ"
        );
    }

    #[test]
    fn numeric_defaults_are_the_runtime_defaults() {
        assert_eq!(
            Key::TimeoutMs.default_number(),
            Some(defaults::DEFAULT_TIMEOUT_MS)
        );
        assert_eq!(
            Key::IntervalMs.default_number(),
            Some(defaults::DEFAULT_INTERVAL_MS)
        );
        assert_eq!(
            Key::FailureThreshold.default_number(),
            Some(u64::from(defaults::DEFAULT_FAILURE_THRESHOLD))
        );
        assert_eq!(
            Key::SuccessThreshold.default_number(),
            Some(u64::from(defaults::DEFAULT_SUCCESS_THRESHOLD))
        );
        assert_eq!(
            Key::MaxBackoffMs.default_number(),
            Some(defaults::DEFAULT_MAX_BACKOFF_MS)
        );
    }

    #[test]
    fn every_key_has_one_row() {
        // Every variant of `Key` (so `Key::def` never panics), and the list in order.
        for (i, key) in Key::ALL.iter().enumerate() {
            assert_eq!(key.position(), i);
            assert!(
                CHECK_KEYS.iter().any(|def| def.key == *key),
                "{key:?} has no row"
            );
        }
        assert_eq!(CHECK_KEYS.len(), Key::ALL.len());
        for def in CHECK_KEYS {
            let same_key = CHECK_KEYS.iter().filter(|d| d.key == def.key).count();
            let same_name = CHECK_KEYS.iter().filter(|d| d.name == def.name).count();
            assert_eq!((same_key, same_name), (1, 1), "{} has two rows", def.name);
        }
    }
}
