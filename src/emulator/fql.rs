//! STUB: the FQL subset (Falcon Query Language) is being written.

/// A parsed FQL filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FqlError(pub String);

/// A field's value on a record, as FQL sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    List(Vec<&'a str>),
    Bool(bool),
    Int(i64),
    Null,
}

/// A record an FQL filter can be evaluated against.
pub trait Record {
    /// The value of `field`, or `None` if this kind of record has no such field.
    fn field(&self, name: &str) -> Option<Value<'_>>;
}

impl std::fmt::Display for FqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn parse(_s: &str) -> Result<Filter, FqlError> {
    Ok(Filter {})
}

impl Filter {
    pub fn fields(&self) -> Vec<String> {
        Vec::new()
    }

    pub fn matches(&self, _record: &dyn Record) -> bool {
        true
    }
}
