//! `ClientDeliverer`: placeholder until moments-client exposes triggers.
