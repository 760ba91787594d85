//! The identifiers the API hands out, each its own type so one cannot be passed for another: a
//! session id where a cloud request id belongs compiles no more. They hold the text as the API
//! sent it (serialised as a plain string) and read as `&str` wherever text is wanted.
//!
//! The text is shared (`Arc<str>`): a fleet hands the same 50,000 aids and session ids to its
//! index, each batch's request and each command's job, and a copy costs a reference count, not
//! an allocation.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(Arc::from(id.into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(Arc::from(id))
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(Arc::from(id))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.to_string()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &*self.0 == other.as_str()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($name(Arc::from(String::deserialize(d)?)))
            }
        }
    };
}

id!(
    /// A host's agent id (`aid`, `device_id`): 32 hex digits on real tenants.
    Aid
);
id!(
    /// An RTR session (`session_id`), single-host or a member of a batch.
    SessionId
);
id!(
    /// One command as the API tracks it (`cloud_request_id`; a batch reply's `task_id`).
    CloudRequestId
);
id!(
    /// A batch of sessions (`batch_id`).
    BatchId
);

#[cfg(test)]
mod tests {
    use super::{Aid, SessionId};

    #[test]
    fn ids_read_as_text_and_serialise_as_strings() {
        let aid = Aid::new("0123abcd");
        assert_eq!(aid, "0123abcd");
        assert_eq!(&*aid, "0123abcd");
        assert_eq!(format!("{aid} {aid:?}"), "0123abcd \"0123abcd\"");
        let json = serde_json::to_string(&SessionId::new("s-1")).expect("json");
        assert_eq!(json, "\"s-1\"");
        let back: SessionId = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, SessionId::new("s-1"));
        let mut m = std::collections::HashMap::new();
        m.insert(aid.clone(), 1);
        assert_eq!(m.get("0123abcd"), Some(&1));
        let escaped: Aid = serde_json::from_str(r#""a\u0062c""#).expect("parse");
        assert_eq!(escaped, "abc");
        assert_eq!(String::from(escaped), "abc");
    }
}
