//! The names a publish writes by the million, packed end to end in index order.
//!
//! Every record keeps its own id as a `String`, wherever it was allocated. A publish that
//! names a million customers, their subscriptions and contacts would follow one pointer to
//! a far part of the heap for each name; [`PackedNames`] holds the same names of each kind
//! in one block, in the order routing walks them, so walking the records reads the names
//! in order too.

use super::{Contact, Customer, Partner, Subscription};

/// Whether `s` holds no control character, double quote or backslash, so that it can be
/// written between double quotes, in JSON say, as it is.
pub fn quotable(s: &str) -> bool {
    s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// Strings of one kind, end to end, in index order. When none needs escaping between
/// double quotes, each is stored between its quotes, ready to be written into JSON as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packed {
    text: String,
    /// Where each string ends in `text`, after its closing quote when quoted.
    ends: Vec<u32>,
    quoted: bool,
}

impl Packed {
    /// Packs `strings`, or answers `None` when together they are too long to be indexed
    /// with 32 bits.
    fn pack<'s>(strings: impl ExactSizeIterator<Item = &'s str> + Clone) -> Option<Packed> {
        let quoted = strings.clone().all(quotable);
        let mut packed = Packed {
            text: String::new(),
            ends: Vec::with_capacity(strings.len()),
            quoted,
        };
        for s in strings {
            if quoted {
                packed.text.push('"');
                packed.text.push_str(s);
                packed.text.push('"');
            } else {
                packed.text.push_str(s);
            }
            packed.ends.push(u32::try_from(packed.text.len()).ok()?);
        }
        packed.text.shrink_to_fit();
        Some(packed)
    }

    /// The stored text of index `i`, with its quotes when quoted.
    #[inline]
    fn stored(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        &self.text[start..self.ends[i] as usize]
    }

    /// The string at index `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        let stored = self.stored(i);
        match self.quoted {
            true => &stored[1..stored.len() - 1],
            false => stored,
        }
    }

    /// The string at index `i` between double quotes, when no string of this kind holds a
    /// control character, a double quote or a backslash: then each can be written, in JSON
    /// say, as it is.
    #[inline]
    pub fn quoted(&self, i: usize) -> Option<&str> {
        self.quoted.then(|| self.stored(i))
    }
}

/// The ids of partners, customers, subscriptions and contacts, and contacts' addresses,
/// each kind packed in index order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedNames {
    pub partners: Packed,
    pub customers: Packed,
    pub subscriptions: Packed,
    pub contacts: Packed,
    pub emails: Packed,
}

impl PackedNames {
    /// Packs the names of the records, or names the first kind and field whose names
    /// together are too long to pack.
    pub(super) fn pack(
        partners: &[Partner],
        customers: &[Customer],
        subscriptions: &[Subscription],
        contacts: &[Contact],
    ) -> Result<PackedNames, (&'static str, &'static str)> {
        Ok(PackedNames {
            partners: Packed::pack(partners.iter().map(|p| p.id.as_str()))
                .ok_or(("partner", "id"))?,
            customers: Packed::pack(customers.iter().map(|c| c.id.as_str()))
                .ok_or(("customer", "id"))?,
            subscriptions: Packed::pack(subscriptions.iter().map(|s| s.id.as_str()))
                .ok_or(("subscription", "id"))?,
            contacts: Packed::pack(contacts.iter().map(|c| c.id.as_str()))
                .ok_or(("contact", "id"))?,
            emails: Packed::pack(contacts.iter().map(|c| c.email.as_str()))
                .ok_or(("contact", "email"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Packed;

    #[test]
    fn strings_come_back_by_index_and_quoted_only_when_every_one_can_be() {
        let packed = Packed::pack(["", "contoso", "fabrikam-e3"].into_iter()).unwrap();
        assert_eq!(packed.get(0), "");
        assert_eq!(packed.get(1), "contoso");
        assert_eq!(packed.get(2), "fabrikam-e3");
        assert_eq!(packed.quoted(2), Some("\"fabrikam-e3\""));
        for unquoted in ["a\"b", "a\nb", "a\\b"] {
            let packed = Packed::pack(["plain", unquoted].into_iter()).unwrap();
            assert_eq!(packed.get(0), "plain");
            assert_eq!(packed.get(1), unquoted);
            assert_eq!(packed.quoted(0), None);
        }
    }
}
