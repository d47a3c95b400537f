//! The closed sets of names the store keeps in text columns, each an enum that sqlx binds
//! and reads by its stored spelling, so a query never compares or writes a misspelt
//! status and a row holding a name no write makes is refused as it is read.

/// How a delivery batch is sent: the `channel` column of `delivery_batches`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub(crate) enum Channel {
    Email,
    Webhook,
}

impl Channel {
    /// The name stored in the `channel` column.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// Where a delivery batch stands: the `status` column of `delivery_batches`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub(crate) enum BatchStatus {
    /// Some of its deliveries are still to be tried for the first time.
    Pending,
    /// Each of its deliveries either arrived or has a retry of its own.
    Settled,
}

impl BatchStatus {
    /// The name stored in the `status` column.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Pending => "pending",
            BatchStatus::Settled => "settled",
        }
    }
}

/// Where a delivery that did not arrive at its first attempt stands: the `status` column
/// of `delivery_retries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub(crate) enum RetryStatus {
    /// To be tried again when it is due.
    Retrying,
    /// It arrived at a later attempt.
    Delivered,
    /// Its schedule is spent: a dead letter, until a person replays it.
    Dead,
}

impl RetryStatus {
    /// The name stored in the `status` column, and shown.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RetryStatus::Retrying => "retrying",
            RetryStatus::Delivered => "delivered",
            RetryStatus::Dead => "dead",
        }
    }
}

/// Which kind of organisation a row belongs to: the `principal` column of `api_keys`, the
/// `owner_kind` column of `endpoints` and the `reader_kind` column of `inbox_reads`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub(crate) enum OrgKind {
    Vendor,
    Partner,
    Customer,
}

impl OrgKind {
    /// The name stored in the column, and shown.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrgKind::Vendor => "vendor",
            OrgKind::Partner => "partner",
            OrgKind::Customer => "customer",
        }
    }
}
