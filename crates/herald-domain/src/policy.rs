//! The routing policy as data.
//!
//! A policy names its rules (the sentences of POLICY.md, with ids such as `R2`) and, per
//! message category, which scope fields a message may and must have, which subscriptions
//! are in scope, when the customer hears directly, which partners are told and which
//! contacts read each copy. The default policy is `policies/default.toml`, compiled in; a
//! vendor loads another with `--policy`. Routing reads only this data, so a changed policy
//! needs no code change, and every decision can name the rule behind it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::{Role, Status};

/// The default policy's TOML text, as compiled into Herald.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.toml");

/// A checked policy. Categories and rules are addressed by position ([`CategoryIx`],
/// [`RuleIx`]) once parsed, so decisions stay small.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    version: String,
    default_locale: String,
    rules: Vec<Rule>,
    categories: Vec<Category>,
    text: String,
}

/// The position of a rule in its [`Policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleIx(pub u16);

/// The position of a category in its [`Policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategoryIx(pub u16);

/// One rule: an id, the sentence it comes from and what it means for routing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub id: String,
    pub source: String,
    pub means: String,
}

/// A field of a message's scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeField {
    Subscriptions,
    Products,
    Services,
    Regions,
    Customers,
}

impl ScopeField {
    /// Every scope field, in the order messages list them.
    pub const ALL: [ScopeField; 5] = [
        Self::Subscriptions,
        Self::Products,
        Self::Services,
        Self::Regions,
        Self::Customers,
    ];

    /// The field's name in a message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscriptions => "subscriptions",
            Self::Products => "products",
            Self::Services => "services",
            Self::Regions => "regions",
            Self::Customers => "customers",
        }
    }
}

/// When an in-scope customer hears directly from the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectWhen {
    /// Always: the matter concerns the customer's service (R3).
    Always,
    /// Only when some in-scope subscription is held directly (R4); otherwise the partner
    /// speaks (R1, R2).
    DirectSubscription,
    /// Never.
    Never,
}

/// Which partners of the in-scope subscriptions are told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnersOf {
    /// The partners of the in-scope CSP subscriptions.
    Csp,
    /// No partner.
    None,
}

/// A partner's part with an in-scope customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerRole {
    /// The partner of record of an in-scope CSP subscription (`direct_bill` or
    /// `indirect_provider`).
    Partner,
    /// The `indirect_reseller` of an in-scope CSP subscription.
    Reseller,
    /// An `advisor` the customer names in its `advisors`.
    Advisor,
}

/// Which in-scope subscriptions the customer's own copy names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyNames {
    /// Only the directly held ones: the partner speaks for the rest.
    Direct,
    /// All of them.
    All,
}

/// A consent a contact must have given to read a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// The contact's `product_news` flag.
    ProductNews,
}

/// Who inside an organisation reads a copy: the contacts holding the first role of the list
/// that any (consenting) contact holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactChoice {
    pub roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

/// How one category routes.
#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub name: String,
    pub scope_rule: RuleIx,
    pub required_any: Vec<ScopeField>,
    pub allowed: Vec<ScopeField>,
    /// Fields that may appear only together with another (`regions` only with `services`).
    pub requires: Vec<(ScopeField, ScopeField)>,
    pub statuses: Vec<Status>,
    pub direct_when: DirectWhen,
    pub direct_rule: RuleIx,
    pub indirect_rule: RuleIx,
    pub partners_of: PartnersOf,
    pub partner_roles: Vec<PartnerRole>,
    pub partners_rule: RuleIx,
    pub customer_copy: CopyNames,
    pub customer_contacts: ContactChoice,
    pub partner_contacts: ContactChoice,
    /// The rule by which an update of a thread reaches everyone the thread already
    /// reached, when messages of this category may form threads.
    pub thread_rule: Option<RuleIx>,
}

impl Category {
    /// Whether a subscription of this status can be in scope.
    pub fn admits_status(&self, status: Status) -> bool {
        self.statuses.contains(&status)
    }

    /// Whether the policy tells this kind of CSP partner.
    #[inline]
    pub fn tells(&self, role: PartnerRole) -> bool {
        self.partners_of == PartnersOf::Csp && self.partner_roles.contains(&role)
    }
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("the policy is not valid TOML or has an unexpected shape: {0}")]
    Syntax(String),
    #[error("{0}")]
    Invalid(String),
}

impl Policy {
    /// The default policy of POLICY.md.
    pub fn default_policy() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the compiled-in default policy is valid")
    }

    /// Parses and checks a policy, naming the offending rule, category or field.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        let invalid = |s: String| Err(PolicyError::Invalid(s));
        if raw.version.trim().is_empty() {
            return invalid("the policy's `version` must not be empty".into());
        }
        if raw.default_locale.trim().is_empty() {
            return invalid("the policy's `default_locale` must not be empty".into());
        }
        if raw.categories.is_empty() {
            return invalid("the policy defines no category under [categories]".into());
        }
        if raw.rules.len() > usize::from(u16::MAX) || raw.categories.len() > usize::from(u16::MAX) {
            return invalid("a policy may define at most 65535 rules and 65535 categories".into());
        }
        let rules: Vec<Rule> = raw
            .rules
            .into_iter()
            .map(|(id, r)| Rule {
                id,
                source: r.source,
                means: r.means,
            })
            .collect();
        let rule = |category: &str, field: &str, id: &str| -> Result<RuleIx, PolicyError> {
            match rules.iter().position(|r| r.id == id) {
                Some(i) => Ok(RuleIx(i as u16)),
                None => Err(PolicyError::Invalid(format!(
                    "category `{category}`: `{field}` names rule `{id}`, which the policy does not define under [rules]"
                ))),
            }
        };
        let mut categories = Vec::new();
        for (name, c) in raw.categories {
            let at = |what: String| PolicyError::Invalid(format!("category `{name}`: {what}"));
            if c.required_any.is_empty() {
                return Err(at(
                    "`required_any` must name at least one scope field".into()
                ));
            }
            for f in c
                .required_any
                .iter()
                .chain(c.requires.keys())
                .chain(c.requires.values())
            {
                if !c.allowed.contains(f) {
                    return Err(at(format!(
                        "scope field `{}` is used but not in `allowed`",
                        f.as_str()
                    )));
                }
            }
            if c.statuses.is_empty() {
                return Err(at(
                    "`statuses` must list at least one subscription status".into()
                ));
            }
            for (who, choice) in [
                ("customer_contacts", &c.customer_contacts),
                ("partner_contacts", &c.partner_contacts),
            ] {
                if choice.roles.is_empty() {
                    return Err(at(format!("`{who}.roles` must list at least one role")));
                }
            }
            let direct_rule = rule(&name, "customer.rule", &c.customer.rule)?;
            let indirect_rule = match &c.customer.otherwise {
                Some(id) => rule(&name, "customer.otherwise", id)?,
                None if c.customer.when == DirectWhen::Always => direct_rule,
                None => return Err(at("`customer.otherwise` must name the rule that keeps the customer from hearing directly".into())),
            };
            if c.partners.roles.is_empty() && c.partners.of == PartnersOf::Csp {
                return Err(at(
                    "`partners.roles` must list `partner`, `reseller` or both".into(),
                ));
            }
            let thread_rule = c
                .threads
                .map(|t| rule(&name, "threads.rule", &t.rule))
                .transpose()?;
            categories.push(Category {
                scope_rule: rule(&name, "scope_rule", &c.scope_rule)?,
                partners_rule: rule(&name, "partners.rule", &c.partners.rule)?,
                direct_rule,
                indirect_rule,
                name,
                required_any: c.required_any,
                allowed: c.allowed,
                requires: c.requires.into_iter().collect(),
                statuses: c.statuses,
                direct_when: c.customer.when,
                partners_of: c.partners.of,
                partner_roles: c.partners.roles,
                customer_copy: c.customer_copy,
                customer_contacts: c.customer_contacts,
                partner_contacts: c.partner_contacts,
                thread_rule,
            });
        }
        Ok(Policy {
            version: raw.version,
            default_locale: raw.default_locale,
            rules,
            categories,
            text: text.to_owned(),
        })
    }

    /// The policy's version, recorded with every stored decision.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The locale of last resort for every reader.
    pub fn default_locale(&self) -> &str {
        &self.default_locale
    }

    /// The policy's text as loaded.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A rule by position.
    pub fn rule(&self, ix: RuleIx) -> &Rule {
        &self.rules[ix.0 as usize]
    }

    /// All rules, sorted by id.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A category by position.
    pub fn category(&self, ix: CategoryIx) -> &Category {
        &self.categories[ix.0 as usize]
    }

    /// All categories, sorted by name.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// A category by name.
    pub fn category_named(&self, name: &str) -> Option<CategoryIx> {
        self.categories
            .iter()
            .position(|c| c.name == name)
            .map(|i| CategoryIx(i as u16))
    }

    /// Which categories' messages may form threads, as a clause for error messages.
    pub fn thread_categories(&self) -> String {
        let names: Vec<&str> = self
            .categories
            .iter()
            .filter(|c| c.thread_rule.is_some())
            .map(|c| c.name.as_str())
            .collect();
        if names.is_empty() {
            "this policy lets no category form threads".to_owned()
        } else {
            format!("only {} messages form threads", names.join(" and "))
        }
    }

    /// The category names, comma-separated, for error messages.
    pub fn category_names(&self) -> String {
        self.categories
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: String,
    default_locale: String,
    #[serde(default)]
    rules: BTreeMap<String, RawRule>,
    #[serde(default)]
    categories: BTreeMap<String, RawCategory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    source: String,
    means: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    scope_rule: String,
    required_any: Vec<ScopeField>,
    allowed: Vec<ScopeField>,
    #[serde(default)]
    requires: BTreeMap<ScopeField, ScopeField>,
    statuses: Vec<Status>,
    customer: RawCustomer,
    partners: RawPartners,
    customer_copy: CopyNames,
    customer_contacts: ContactChoice,
    partner_contacts: ContactChoice,
    #[serde(default)]
    threads: Option<RawThreads>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreads {
    rule: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomer {
    when: DirectWhen,
    rule: String,
    #[serde(default)]
    otherwise: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartners {
    of: PartnersOf,
    rule: String,
    #[serde(default = "both_roles")]
    roles: Vec<PartnerRole>,
}

fn both_roles() -> Vec<PartnerRole> {
    vec![PartnerRole::Partner, PartnerRole::Reseller]
}
