//! uniffi bindings of the Moments SDK.
uniffi::setup_scaffolding!();
