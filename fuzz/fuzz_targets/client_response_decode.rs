//! The Rust client's response decoding: any bytes a server (or a man in the middle) sends must
//! decode or fail with an error, never panic; whatever decodes re-encodes and decodes to the same
//! value (the forward-compatible models lose nothing they understood).
//!
//! The first byte picks the model, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moments_client::models::{
    Campaign, Event, Item, LegacyRewardResponse, Page, Redemption, Report, Reward, RewardInfo,
    TriggerResult,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn roundtrip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(body: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(body) {
        let again = serde_json::to_vec(&v).expect("a decoded model re-encodes");
        let back: T = serde_json::from_slice(&again).expect("a re-encoded model decodes");
        assert_eq!(v, back, "decode(encode(x)) != x");
        // Debug never panics either (it redacts secrets by hand on some models).
        let _ = format!("{v:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 11 {
        0 => roundtrip::<TriggerResult>(body),
        1 => roundtrip::<Reward>(body),
        2 => roundtrip::<Campaign>(body),
        3 => roundtrip::<Event>(body),
        4 => roundtrip::<Report>(body),
        5 => roundtrip::<LegacyRewardResponse>(body),
        6 => roundtrip::<Redemption>(body),
        7 => roundtrip::<RewardInfo>(body),
        8 => roundtrip::<Item>(body),
        9 => roundtrip::<Page<Reward>>(body),
        _ => roundtrip::<Page<Campaign>>(body),
    }
});
