//! The embedded migrations, one list per backend with the same numbered steps.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! steps {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        vec![$(Migration::new(
            $version,
            Cow::Borrowed($name),
            MigrationType::Simple,
            Cow::Borrowed(include_str!(concat!("../migrations/", $dir, "/", $name, ".sql"))),
            false,
        )),*]
    };
}

fn migrator(migrations: Vec<Migration>) -> Migrator {
    Migrator {
        migrations: Cow::Owned(migrations),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

pub fn sqlite() -> Migrator {
    migrator(
        steps!("sqlite": 1 "0001_foundation", 2 "0002_ledger", 3 "0003_request_types", 4 "0004_lifecycle", 5 "0005_clocks", 6 "0006_data", 7 "0007_hardening", 8 "0008_console", 9 "0009_console_time_zone", 10 "0010_ledger_subjects", 11 "0011_operations", 12 "0012_registry_and_peers", 13 "0013_evidence_at_size", 14 "0014_response_centre", 15 "0015_lookup"),
    )
}

pub fn postgres() -> Migrator {
    migrator(
        steps!("postgres": 1 "0001_foundation", 2 "0002_ledger", 3 "0003_request_types", 4 "0004_lifecycle", 5 "0005_clocks", 6 "0006_data", 7 "0007_hardening", 8 "0008_console", 9 "0009_console_time_zone", 10 "0010_ledger_subjects", 11 "0011_operations", 12 "0012_registry_and_peers", 13 "0013_evidence_at_size", 14 "0014_response_centre", 15 "0015_lookup"),
    )
}
