//! Typed identifiers.
//!
//! Records are named by strings chosen by the vendor (`contoso`, `fabrikam`), and inside a
//! loaded [`Directory`](crate::Directory) they are also numbered densely so routing can work
//! on arrays. Both forms are typed: a function that takes a partner cannot be handed a
//! customer, whether by name ([`PartnerId`]) or by position ([`PartnerIx`]). Every id
//! given from outside keeps one rule ([`limits::check_id`]): [`PartnerId::check`] and its
//! like apply it where the world and messages are converted from their wire shapes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::{self, Refusal, Shown};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as written by the vendor.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether the id keeps the rule every id keeps (see [`limits`]).
            pub fn check(&self) -> Result<(), Refusal> {
                limits::check_id(&self.0)
            }

            /// The id, when it keeps the rule every id keeps (see [`limits`]).
            pub fn parse(id: impl Into<String>) -> Result<Self, Refusal> {
                let id = Self(id.into());
                id.check().map(|()| id)
            }

            /// The id as an error may quote it: escaped and cut short (see [`limits::shown`]).
            pub fn shown(&self) -> Shown<'_> {
                limits::shown(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// The id of a partner (`fabrikam`).
    PartnerId
);
string_id!(
    /// The id of a customer, that is a tenant (`contoso`).
    CustomerId
);
string_id!(
    /// The id of a subscription (`contoso-e3`).
    SubscriptionId
);
string_id!(
    /// The id of a product in the catalog shared by all clouds (`m365-e3`).
    ProductId
);
string_id!(
    /// The id of a service a product contains (`exchange`).
    ServiceId
);
string_id!(
    /// The id of a contact person or mailbox of a partner or customer.
    ContactId
);
string_id!(
    /// The id of a message, chosen by its publisher; publishing it twice is one message.
    MessageId
);
string_id!(
    /// The id of an incident thread, chosen by its publisher: the messages naming it are the
    /// updates of one incident.
    ThreadId
);
string_id!(
    /// A cloud, an isolated instance of the vendor (`global`, `us-gov`).
    CloudId
);

/// What stands for every cloud at once (the vendor's key for the catalog they share): no
/// cloud may be named so.
pub const EVERY_CLOUD: &str = "*";

impl CloudId {
    /// The cloud of every record that names none.
    pub fn global() -> Self {
        Self("global".to_owned())
    }
}

macro_rules! index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The position as a `usize`, for indexing.
            pub fn get(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index!(
    /// The position of a partner in a directory; positions follow id order.
    PartnerIx
);
index!(
    /// The position of a customer in a directory; positions follow id order.
    CustomerIx
);
index!(
    /// The position of a subscription in a directory; positions follow (customer, id) order.
    SubscriptionIx
);
index!(
    /// The position of a product in a directory; positions follow id order.
    ProductIx
);
index!(
    /// The position of a service in a directory; positions follow id order.
    ServiceIx
);
index!(
    /// The position of a contact in a directory.
    ContactIx
);
index!(
    /// The position of a cloud in a directory; positions follow id order.
    CloudIx
);
index!(
    /// The position of a region name in a directory.
    RegionIx
);
