//! The legal gate: when the Convention is in force, generally and for each Party (Art. 65), until
//! when (denunciation, Art. 67), and whether a request may rest on it on a given day.
//!
//! Pure date arithmetic over what the registry says; the registry module feeds it and the node
//! asks it before sending and on receipt.

use jiff::civil::Date;
use jiff::{Span, ToSpan};

use crate::catalogue::{art64, art65, art67};

/// What the registry says of one State or regional organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyFacts {
    pub code: String,
    pub regional_organization: bool,
    pub signed: Option<Date>,
    /// Deposit of the instrument of ratification, acceptance, approval or accession.
    pub deposited: Option<Date>,
    /// The day the Secretary-General received the notification of denunciation.
    pub denounced: Option<Date>,
    /// For a regional organization: its member States' codes.
    pub members: Vec<String>,
}

/// When the Convention applies to one State.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InForce {
    /// First day in force for the State; `None` while it is not a Party or the Convention is not
    /// yet in force.
    pub from: Option<Date>,
    /// The day a denunciation takes effect: no longer in force from that day on.
    pub until: Option<Date>,
}

impl InForce {
    pub fn on(&self, day: Date) -> bool {
        self.from.is_some_and(|f| f <= day) && self.until.is_none_or(|u| day < u)
    }
}

fn plus(d: Date, span: Span) -> Date {
    d.checked_add(span).unwrap_or(Date::MAX)
}

/// The general entry-into-force date: the 90th day after the 40th instrument. Instruments of
/// regional organizations do not count in addition to those of their member States.
pub fn general_entry_into_force(parties: &[PartyFacts]) -> Option<Date> {
    let mut deposits: Vec<Date> = parties
        .iter()
        .filter(|p| !p.regional_organization)
        .filter_map(|p| p.deposited)
        .collect();
    deposits.sort();
    deposits
        .get(art65::INSTRUMENTS_REQUIRED - 1)
        .map(|fortieth| plus(*fortieth, art65::GENERAL_DELAY_DAYS.days()))
}

/// When the Convention is in force for `party`, given the general date.
pub fn in_force(party: &PartyFacts, general: Option<Date>) -> InForce {
    let from = match (party.deposited, general) {
        (Some(deposited), Some(general)) => {
            // A State depositing after the 40th instrument: the 30th day after its deposit, or
            // the general date if that is later. For the first forty, the general date is
            // always the later one.
            Some(plus(deposited, art65::LATER_DELAY_DAYS.days()).max(general))
        }
        _ => None,
    };
    let until = party
        .denounced
        .map(|d| plus(d, i64::from(art67::DELAY_YEARS).years()));
    InForce { from, until }
}

/// When the Convention is in force for `party`, among `parties`: [`in_force`], and for a
/// regional economic integration organization also its members' status: it is a Party only
/// once at least one member State is (Art. 64), and it ceases to be one when all its members'
/// denunciations have taken effect (Art. 67).
pub fn party_in_force(
    parties: &[PartyFacts],
    party: &PartyFacts,
    general: Option<Date>,
) -> InForce {
    let own = in_force(party, general);
    if !party.regional_organization {
        return own;
    }
    let members: Vec<InForce> = parties
        .iter()
        .filter(|p| !p.regional_organization && party.members.contains(&p.code))
        .map(|p| in_force(p, general))
        .filter(|f| f.from.is_some())
        .collect();
    let first_member = members.iter().filter_map(|f| f.from).min();
    let from = match (own.from, first_member) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    // All members gone: the organization goes when the last of them does.
    let last_member_leaves = if members.is_empty() || members.iter().any(|f| f.until.is_none()) {
        None
    } else {
        members.iter().filter_map(|f| f.until).max()
    };
    let until = match (own.until, last_member_leaves) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    InForce { from, until }
}

/// Why a request under the Convention is not possible on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotInForce {
    /// The sentence a user reads.
    pub reason: String,
    /// From which day it would be possible, if any day is known.
    pub possible_from: Option<Date>,
}

/// Checks that the Convention is in force for both States on `day`. `a` and `b` are
/// `(code, facts)`; a State missing from the registry is `None`.
pub fn both_in_force(
    parties: &[PartyFacts],
    a: &str,
    b: &str,
    day: Date,
) -> Result<(), NotInForce> {
    let general = general_entry_into_force(parties);
    let mut reasons = Vec::new();
    let mut possible_from: Option<Date> = None;
    let mut never = false;
    for code in [a, b] {
        let Some(p) = parties.iter().find(|p| p.code == code) else {
            reasons.push(format!("{code} is not in the registry"));
            never = true;
            continue;
        };
        let f = party_in_force(parties, p, general);
        if f.on(day) {
            continue;
        }
        let alone =
            p.regional_organization && general.is_some() && in_force(p, general).from.is_some();
        match (p.deposited, f.from, f.until) {
            (_, _, Some(until))
                if day >= until && p.regional_organization && p.denounced.is_none() =>
            {
                reasons.push(format!(
                    "all member States of {code} have denounced the Convention; it ceased to be a Party on {until} ({})",
                    art67::REGIONAL_ORGANIZATION
                ));
                never = true;
            }
            (Some(dep), None, _) if alone => {
                reasons.push(format!(
                    "{code} deposited its instrument on {dep}, but none of its member States is a Party, and a regional organization is one only with at least one of them ({})",
                    art64::REGIONAL_ORGANIZATION
                ));
                never = true;
            }
            (_, _, Some(until)) if day >= until => {
                reasons.push(format!(
                    "{code} denounced the Convention on {}; the denunciation took effect on {until} ({})",
                    p.denounced.map(|d| d.to_string()).unwrap_or_default(),
                    art67::DENUNCIATION
                ));
                never = true;
            }
            (None, _, _) => {
                let signed = p
                    .signed
                    .map(|s| format!("signed on {s} but "))
                    .unwrap_or_default();
                reasons.push(format!(
                    "{code} has {signed}deposited no instrument of ratification, acceptance, approval or accession ({}, {})",
                    art64::INSTRUMENTS,
                    art65::GENERAL
                ));
                never = true;
            }
            (Some(dep), Some(from), _) => {
                reasons.push(format!(
                    "for {code} (instrument deposited {dep}) the Convention enters into force on {from} ({})",
                    art65::LATER_PARTIES
                ));
                possible_from = Some(possible_from.map_or(from, |p| p.max(from)));
            }
            (Some(dep), None, _) => {
                reasons.push(format!(
                    "{code} deposited its instrument on {dep}, but fewer than {} instruments have been deposited, so the Convention is not yet in force ({})",
                    art65::INSTRUMENTS_REQUIRED,
                    art65::GENERAL
                ));
                never = true;
            }
        }
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let possible_from = if never { None } else { possible_from };
    let mut reason = format!(
        "the Convention is not in force between {a} and {b} on {day}: {}",
        reasons.join("; ")
    );
    match possible_from {
        Some(d) => reason.push_str(&format!(
            ". A request under the Convention is possible from {d}; until then, send it under another recorded legal basis"
        )),
        None => reason.push_str(
            ". Send it under another recorded legal basis (legal_basis and legal_basis_detail)",
        ),
    }
    Err(NotInForce {
        reason,
        possible_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn party(code: &str, deposited: Option<&str>) -> PartyFacts {
        PartyFacts {
            code: code.into(),
            regional_organization: false,
            signed: Some(d("2025-10-25")),
            deposited: deposited.map(d),
            denounced: None,
            members: Vec::new(),
        }
    }

    /// `n` States depositing one a day from 2026-01-01.
    fn states(n: usize) -> Vec<PartyFacts> {
        (0..n)
            .map(|i| {
                let day = plus(d("2026-01-01"), (i as i64).days());
                party(&format!("S{i:02}"), Some(&day.to_string()))
            })
            .collect()
    }

    #[test]
    fn in_force_ninety_days_after_the_fortieth_instrument() {
        assert_eq!(general_entry_into_force(&states(39)), None);
        // The 40th deposit is on 2026-02-09 (day 39 after 2026-01-01).
        let all = states(40);
        assert_eq!(all[39].deposited, Some(d("2026-02-09")));
        assert_eq!(general_entry_into_force(&all), Some(d("2026-05-10")));
        // Order of listing does not matter; the deposit dates do.
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(general_entry_into_force(&reversed), Some(d("2026-05-10")));
        // The first forty are in force on the general date, not 30 days after their deposit.
        let g = general_entry_into_force(&all);
        assert_eq!(in_force(&all[0], g).from, Some(d("2026-05-10")));
        assert_eq!(in_force(&all[39], g).from, Some(d("2026-05-10")));
    }

    #[test]
    fn a_regional_organization_does_not_count_in_addition() {
        let mut p = states(39);
        let mut eu = party("EUR", Some("2026-01-15"));
        eu.regional_organization = true;
        p.push(eu.clone());
        assert_eq!(
            general_entry_into_force(&p),
            None,
            "39 States + 1 REIO is not 40"
        );
        p.push(party("S39", Some("2026-03-01")));
        let g = general_entry_into_force(&p);
        assert_eq!(g, Some(d("2026-05-30")));
        // The organization itself is a Party from the general date.
        assert_eq!(in_force(&eu, g).from, g);
    }

    #[test]
    fn a_regional_organization_stands_with_its_members() {
        let mut p = states(40);
        let g = general_entry_into_force(&p);
        let mut eu = party("EUR", Some("2026-01-15"));
        eu.regional_organization = true;
        eu.members = vec!["M1".into(), "M2".into()];
        p.push(eu.clone());
        // No member State is a Party: neither is the organization (Art. 64).
        p.push(party("M1", None));
        p.push(party("M2", None));
        assert_eq!(party_in_force(&p, &eu, g).from, None);
        let err = both_in_force(&p, "S00", "EUR", d("2026-12-01")).unwrap_err();
        assert!(
            err.reason.contains("none of its member States"),
            "{}",
            err.reason
        );
        // One member deposits: the organization is a Party from that member's date.
        let m1 = p.iter_mut().find(|x| x.code == "M1").unwrap();
        m1.deposited = Some(d("2026-06-01"));
        assert_eq!(party_in_force(&p, &eu, g).from, Some(d("2026-07-01")));
        assert!(both_in_force(&p, "S00", "EUR", d("2026-12-01")).is_ok());
        // Every member denounces: it ceases to be a Party when the last denunciation takes
        // effect (Art. 67).
        let m2 = p.iter_mut().find(|x| x.code == "M2").unwrap();
        m2.deposited = Some(d("2026-06-01"));
        for code in ["M1", "M2"] {
            p.iter_mut().find(|x| x.code == code).unwrap().denounced = Some(d("2027-01-10"));
        }
        assert_eq!(party_in_force(&p, &eu, g).until, Some(d("2028-01-10")));
        let err = both_in_force(&p, "S00", "EUR", d("2028-02-01")).unwrap_err();
        assert!(
            err.reason.contains("ceased to be a Party"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn a_later_deposit_takes_thirty_days_or_the_general_date() {
        let mut p = states(40);
        let g = general_entry_into_force(&p); // 2026-05-10
        // Deposited before the general date, 30 days would end earlier: the general date wins.
        let early = party("LAT", Some("2026-03-01"));
        p.push(early.clone());
        assert_eq!(general_entry_into_force(&p), g, "the 41st does not move it");
        assert_eq!(in_force(&early, g).from, g);
        // After the 40th but close to the general date: 30 days after the deposit is later.
        let close = party("CLS", Some("2026-04-20"));
        assert_eq!(in_force(&close, g).from, Some(d("2026-05-20")));
        // Deposited after: 30 days after the deposit.
        let late = party("LTR", Some("2026-11-10"));
        assert_eq!(in_force(&late, g).from, Some(d("2026-12-10")));
        // Within the 30-day window, a request is not possible yet, and the date is given.
        let mut with_late = p.clone();
        with_late.push(late);
        let err = both_in_force(&with_late, "S00", "LTR", d("2026-11-22")).unwrap_err();
        assert_eq!(err.possible_from, Some(d("2026-12-10")));
        assert!(err.reason.contains("2026-12-10"), "{}", err.reason);
        assert!(both_in_force(&with_late, "S00", "LTR", d("2026-12-10")).is_ok());
        assert!(both_in_force(&with_late, "S00", "LTR", d("2026-12-09")).is_err());
    }

    #[test]
    fn leap_years() {
        // The 40th instrument on 2028-01-01: 90 days later crosses 29 February.
        let mut p = states(39);
        p.push(party("S39", Some("2028-01-01")));
        assert_eq!(general_entry_into_force(&p), Some(d("2028-03-31")));
        // 30 days after 2028-02-15 is 2028-03-16 in a leap year.
        let late = party("LTR", Some("2028-02-15"));
        assert_eq!(
            in_force(&late, Some(d("2028-01-01"))).from,
            Some(d("2028-03-16"))
        );
        // A denunciation received on 29 February takes effect on 28 February of the next year.
        let mut gone = party("DEN", Some("2026-01-01"));
        gone.denounced = Some(d("2028-02-29"));
        assert_eq!(
            in_force(&gone, Some(d("2026-05-10"))).until,
            Some(d("2029-02-28"))
        );
    }

    #[test]
    fn denunciation_takes_effect_after_one_year() {
        let mut p = states(40);
        p[5].denounced = Some(d("2026-07-01"));
        let code = p[5].code.clone();
        assert!(both_in_force(&p, "S00", &code, d("2027-06-30")).is_ok());
        let err = both_in_force(&p, "S00", &code, d("2027-07-01")).unwrap_err();
        assert!(err.reason.contains("denounced"), "{}", err.reason);
        assert_eq!(err.possible_from, None);
    }

    #[test]
    fn signed_only_and_unknown_states_are_refused_with_reasons() {
        let mut p = states(40);
        p.push(party("SGN", None));
        let err = both_in_force(&p, "S00", "SGN", d("2026-11-22")).unwrap_err();
        assert!(
            err.reason
                .contains("SGN has signed on 2025-10-25 but deposited no instrument"),
            "{}",
            err.reason
        );
        assert!(
            err.reason.contains("another recorded legal basis"),
            "{}",
            err.reason
        );
        assert_eq!(err.possible_from, None);
        assert!(both_in_force(&p, "S00", "XXX", d("2026-11-22")).is_err());
        // Before the general date nobody is bound.
        let err = both_in_force(&p, "S00", "S01", d("2026-05-09")).unwrap_err();
        assert_eq!(err.possible_from, Some(d("2026-05-10")));
        assert!(both_in_force(&p, "S00", "S01", d("2026-05-10")).is_ok());
        // Too few instruments: no date can be given.
        let few = states(10);
        let err = both_in_force(&few, "S00", "S01", d("2026-11-22")).unwrap_err();
        assert!(err.reason.contains("fewer than 40"), "{}", err.reason);
    }
}
