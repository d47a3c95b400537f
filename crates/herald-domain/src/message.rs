//! Messages: a category, a scope the category allows, and content.
//!
//! [`Message::parse`] checks a [`wire::Message`] against the policy (which categories exist,
//! which scope fields each allows and needs) and the directory (every named id exists in
//! the message's cloud), and refuses it whole with a sentence a person can act on. A
//! `Message` that exists can be routed.

use crate::directory::Directory;
use crate::ids::{
    CloudIx, CustomerIx, MessageId, ProductIx, RegionIx, ServiceIx, SubscriptionIx, ThreadId,
};
use crate::limits::{self, shown, Refusal};
use crate::policy::{CategoryIx, Policy, ScopeField};
use crate::wire::{self, Text, ThreadStatus};

/// A checked message, bound to the directory it was checked against.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub category: CategoryIx,
    pub cloud: CloudIx,
    pub scope: Scope,
    pub content: Content,
    /// The incident thread the message updates, if any.
    pub thread: Option<Thread>,
    /// The message as published, kept to store it and to recognise a repeat.
    pub wire: wire::Message,
}

/// A message's place in an incident thread: which thread, and where the incident stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub id: ThreadId,
    pub status: ThreadStatus,
}

/// What a message is about. Each list is sorted and without repeats; `None` means the
/// message does not use the field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    pub subscriptions: Option<Vec<SubscriptionIx>>,
    pub products: Option<Vec<ProductIx>>,
    pub services: Option<Vec<ServiceIx>>,
    /// Named regions that some subscription lists; a region no subscription lists matches
    /// only subscriptions that list no region.
    pub regions: Option<Vec<RegionIx>>,
    pub customers: Option<Vec<CustomerIx>>,
}

impl Scope {
    /// Whether the scope selects subscriptions by something other than customers; when it
    /// does not, the named customers are in scope even with no subscription.
    pub fn selects_subscriptions(&self) -> bool {
        self.subscriptions.is_some() || self.products.is_some() || self.services.is_some()
    }
}

/// A message's title and body, and the locale of its plain text.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub title: Option<Text>,
    pub body: Option<Text>,
    pub locale: String,
    /// Every locale the content has text in, sorted.
    locales: Vec<String>,
}

impl Content {
    /// Content in `title` and `body`, its plain text in `locale`.
    pub fn new(title: Option<Text>, body: Option<Text>, locale: String) -> Content {
        let mut locales: Vec<String> = Vec::new();
        for text in [&title, &body].into_iter().flatten() {
            match text {
                Text::Plain(_) => locales.push(locale.clone()),
                Text::Localized(map) => locales.extend(map.keys().cloned()),
            }
        }
        locales.sort_unstable();
        locales.dedup();
        Content {
            title,
            body,
            locale,
            locales,
        }
    }

    /// Picks the locale a reader gets: the reader's `wanted` locale if the content has it,
    /// then its language (`ru-RU` → `ru`), then the message's locale and its language, then
    /// the first locale the content has.
    pub fn pick_locale(&self, wanted: Option<&str>) -> &str {
        let find = |l: &str| self.locales.binary_search_by(|x| x.as_str().cmp(l)).ok();
        wanted
            .into_iter()
            .chain([self.locale.as_str()])
            .find_map(|l| find(l).or_else(|| find(language(l))))
            .or(if self.locales.is_empty() {
                None
            } else {
                Some(0)
            })
            .map_or(&self.locale, |i| &self.locales[i])
    }

    /// The text of `text` for a reader of `locale` (as picked by [`Content::pick_locale`]):
    /// that locale, its language, the message's locale, its language, then any.
    pub fn text<'a>(&'a self, text: &'a Option<Text>, locale: &str) -> &'a str {
        match text {
            None => "",
            Some(Text::Plain(s)) => s,
            Some(Text::Localized(map)) => [locale, self.locale.as_str()]
                .into_iter()
                .flat_map(|l| [l, language(l)])
                .find_map(|l| map.get(l))
                .or_else(|| map.values().next())
                .map_or("", String::as_str),
        }
    }
}

/// The language of a locale tag: `ru-RU` → `ru`.
fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or(locale)
}

/// A refused message and the reason, as a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct MessageError {
    /// The message's id, when it had one.
    pub message: Option<MessageId>,
    pub reason: String,
}

impl Message {
    /// Checks a message against the policy and the directory.
    pub fn parse(
        wire: wire::Message,
        policy: &Policy,
        directory: &Directory,
    ) -> Result<Message, MessageError> {
        let id = wire.id.clone();
        let fail = |reason: String| MessageError {
            message: Some(id.clone()),
            reason: format!("message \"{}\" was rejected: {reason}", id.shown()),
        };
        match id.check() {
            Err(Refusal::Empty) => {
                return Err(fail(
                    "its `id` is empty; give every message a unique id".into(),
                ))
            }
            Err(refused) => {
                return Err(fail(format!(
                    "its `id` is refused: {refused}; an id is 1 to {} bytes, with no whitespace at either end and no control, bidirectional or zero-width character",
                    limits::MAX_ID_BYTES
                )))
            }
            Ok(()) => {}
        }
        check_content(&wire).map_err(fail)?;
        let category = match wire.category.as_deref() {
            None => {
                return Err(fail(format!(
                    "it has no `category`; use one of: {}",
                    policy.category_names()
                )))
            }
            Some(name) => policy.category_named(name).ok_or_else(|| {
                fail(format!(
                    "its category \"{}\" is not one this policy knows; use one of: {}",
                    shown(name),
                    policy.category_names()
                ))
            })?,
        };
        let cat = policy.category(category);
        let cloud_name = wire.cloud.as_ref().map_or("global", |c| c.as_str());
        let cloud = directory.cloud_ix(cloud_name).ok_or_else(|| {
            fail(format!(
                "its cloud \"{}\" has no partner or customer in the directory",
                shown(cloud_name)
            ))
        })?;

        let given: Vec<ScopeField> = ScopeField::ALL
            .into_iter()
            .filter(|f| match f {
                ScopeField::Subscriptions => wire.subscriptions.is_some(),
                ScopeField::Products => wire.products.is_some(),
                ScopeField::Services => wire.services.is_some(),
                ScopeField::Regions => wire.regions.is_some(),
                ScopeField::Customers => wire.customers.is_some(),
            })
            .collect();
        let names = |fields: &[ScopeField]| {
            fields
                .iter()
                .map(|f| format!("`{}`", f.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for f in &given {
            if !cat.allowed.contains(f) {
                return Err(fail(format!(
                    "a `{}` message may not have `{}`; its scope fields are {}",
                    cat.name,
                    f.as_str(),
                    names(&cat.allowed)
                )));
            }
        }
        if !cat.required_any.iter().any(|f| given.contains(f)) {
            let need = if cat.required_any.len() == 1 {
                names(&cat.required_any)
            } else {
                format!("at least one of {}", names(&cat.required_any))
            };
            return Err(fail(format!(
                "a `{}` message needs {need} to say what it is about",
                cat.name
            )));
        }
        for (field, needs) in &cat.requires {
            if given.contains(field) && !given.contains(needs) {
                return Err(fail(format!(
                    "in a `{}` message, `{}` may only be given together with `{}`",
                    cat.name,
                    field.as_str(),
                    needs.as_str()
                )));
            }
        }

        let cloud_id = directory.cloud(cloud);
        let resolve = |field: &str,
                       kind: &str,
                       ids: &[&str],
                       look: &dyn Fn(&str) -> Option<(u32, CloudIx)>|
         -> Result<Vec<u32>, MessageError> {
            if ids.is_empty() {
                return Err(fail(format!(
                    "`{field}` is empty; name at least one {kind} or leave the field out"
                )));
            }
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                match look(id) {
                    Some((ix, c)) if c == cloud => out.push(ix),
                    _ => {
                        return Err(fail(format!(
                            "it names {kind} \"{}\", which does not exist in cloud \"{cloud_id}\"",
                            shown(id)
                        )))
                    }
                }
            }
            out.sort_unstable();
            out.dedup();
            Ok(out)
        };
        let mut scope = Scope::default();
        if let Some(ids) = wire
            .subscriptions
            .as_ref()
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        {
            let look = |id: &str| {
                directory
                    .subscription_ix(id)
                    .map(|s| (s.0, directory.subscription_cloud(s)))
            };
            scope.subscriptions = Some(
                resolve("subscriptions", "subscription", &ids, &look)?
                    .into_iter()
                    .map(SubscriptionIx)
                    .collect(),
            );
        }
        if let Some(ids) = wire
            .products
            .as_ref()
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        {
            let look = |id: &str| directory.product_ix(id).map(|p| (p.0, cloud));
            scope.products = Some(
                resolve("products", "product", &ids, &look)?
                    .into_iter()
                    .map(ProductIx)
                    .collect(),
            );
        }
        if let Some(ids) = wire
            .services
            .as_ref()
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        {
            let look = |id: &str| directory.service_ix(id).map(|s| (s.0, cloud));
            scope.services = Some(
                resolve("services", "service", &ids, &look)?
                    .into_iter()
                    .map(ServiceIx)
                    .collect(),
            );
        }
        if let Some(ids) = wire
            .customers
            .as_ref()
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        {
            let look = |id: &str| {
                directory
                    .customer_ix(id)
                    .map(|c| (c.0, directory.customer(c).cloud))
            };
            scope.customers = Some(
                resolve("customers", "customer", &ids, &look)?
                    .into_iter()
                    .map(CustomerIx)
                    .collect(),
            );
        }
        if let Some(regions) = &wire.regions {
            if regions.is_empty() {
                return Err(fail(
                    "`regions` is empty; name at least one region or leave the field out".into(),
                ));
            }
            let mut known: Vec<RegionIx> = regions
                .iter()
                .filter_map(|r| directory.region_ix(r))
                .collect();
            known.sort_unstable();
            known.dedup();
            scope.regions = Some(known);
        }

        let thread = match (&wire.thread, wire.status) {
            (None, None) => None,
            (Some(_), _) | (_, Some(_)) if cat.thread_rule.is_none() => {
                return Err(fail(format!(
                    "a `{}` message may not name a `thread` or a `status`: {}",
                    cat.name,
                    policy.thread_categories()
                )))
            }
            (Some(thread), Some(status)) => {
                match thread.check() {
                    Err(Refusal::Empty) => {
                        return Err(fail(
                            "its `thread` is empty; name the thread this message updates".into(),
                        ))
                    }
                    Err(refused) => {
                        return Err(fail(format!(
                            "its `thread` \"{}\" is refused: {refused}; a thread id keeps the rule of every id",
                            thread.shown()
                        )))
                    }
                    Ok(()) => {}
                }
                Some(Thread {
                    id: thread.clone(),
                    status,
                })
            }
            (Some(thread), None) => {
                return Err(fail(format!(
                    "it names thread \"{}\" but no `status`; say where the incident stands: investigating, identified, monitoring or resolved",
                    thread.shown()
                )))
            }
            (None, Some(_)) => {
                return Err(fail(
                    "it has a `status` but no `thread`; name the thread whose incident it updates"
                        .into(),
                ))
            }
        };
        let content = Content::new(
            wire.title.clone(),
            wire.body.clone(),
            wire.locale
                .clone()
                .unwrap_or_else(|| policy.default_locale().to_owned()),
        );
        Ok(Message {
            id,
            category,
            cloud,
            scope,
            content,
            thread,
            wire,
        })
    }
}

/// Checks a message's title and body, in each locale, against their limits (see
/// [`limits`]), and the locales they are given in against the rule of an id.
fn check_content(wire: &wire::Message) -> Result<(), String> {
    let title = format!(
        "a title is one line of at most {} bytes per locale",
        limits::MAX_TITLE_BYTES
    );
    check_text("title", &wire.title, limits::check_title, &title)?;
    let body = format!(
        "a body is at most {} bytes per locale, with no control character but line breaks and tabs",
        limits::MAX_BODY_BYTES
    );
    check_text("body", &wire.body, limits::check_body, &body)
}

/// Checks `text`, the message's `field`, in each locale by `check`; a refusal ends by
/// saying the `rule`.
fn check_text(
    field: &str,
    text: &Option<Text>,
    check: fn(&str) -> Result<(), Refusal>,
    rule: &str,
) -> Result<(), String> {
    match text {
        None => Ok(()),
        Some(Text::Plain(text)) => {
            check(text).map_err(|refused| format!("its `{field}` is refused: {refused}; {rule}"))
        }
        Some(Text::Localized(map)) => {
            if map.is_empty() {
                return Err(format!("`{field}` is an empty object; give its text per locale, such as {{\"en\": \"…\"}}"));
            }
            for (locale, text) in map {
                limits::check_id(locale).map_err(|refused| {
                    format!(
                        "its `{field}` names locale \"{}\", which is refused: {refused}",
                        shown(locale)
                    )
                })?;
                check(text).map_err(|refused| {
                    format!(
                        "its `{field}` in locale \"{}\" is refused: {refused}; {rule}",
                        shown(locale)
                    )
                })?;
            }
            Ok(())
        }
    }
}
