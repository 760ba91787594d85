//! The identifiers the API hands out, each its own type so one cannot be passed for another: a
//! session id where a cloud request id belongs compiles no more. They hold the text as the API
//! sent it (serde-transparent) and read as `&str` wherever text is wanted.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
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
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
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
    }
}
