//! The catalog: items with their prices and stock per marketplace, the offers shown for a list of
//! items, the seeded items, and the catalog routes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::domain::model::{Item, ItemKind, Offer, OfferItem};
use crate::domain::money::{MARKETPLACES, Money, marketplace_currency};

/// The items of a server and the offers made from them.
pub struct Catalog {
    items: BTreeMap<String, Item>,
    /// Offers shared by the rewards issued from one item list in one marketplace (offers are
    /// immutable; dropped when the catalog changes).
    offers: HashMap<String, Vec<SharedOffer>>,
}

/// An offer with the item list it was built from.
type SharedOffer = (Vec<String>, Arc<Offer>);

impl Default for Catalog {
    /// The seeded catalog ([`seed`]).
    fn default() -> Self {
        Catalog {
            items: seed(),
            offers: HashMap::new(),
        }
    }
}

impl Catalog {
    /// An item.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    /// Every item, ordered by id.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }

    /// Adds an item (the shared offers are rebuilt from the new catalog).
    pub fn add(&mut self, item: Item) {
        self.items.insert(item.id.clone(), item);
        self.offers.clear();
    }

    /// The offer of these items in a marketplace: each item's title, kind, price there and image.
    pub fn offer(&self, items: &[String], marketplace: &str) -> Offer {
        Offer {
            items: items
                .iter()
                .filter_map(|id| self.items.get(id))
                .map(|it| OfferItem {
                    item_id: it.id.clone(),
                    title: it.title.clone(),
                    kind: it.kind,
                    value: it
                        .prices
                        .get(marketplace)
                        .cloned()
                        .unwrap_or_else(|| Money {
                            amount: 0,
                            currency: marketplace_currency(marketplace).unwrap_or("USD").into(),
                        }),
                    image_url: it.image_url.clone(),
                })
                .collect(),
        }
    }

    /// The offer of these items, shared with every reward issued from the same items.
    pub fn shared_offer(&mut self, items: &[String], marketplace: &str) -> Arc<Offer> {
        if let Some((_, o)) = self
            .offers
            .get(marketplace)
            .and_then(|v| v.iter().find(|(i, _)| i.as_slice() == items))
        {
            return o.clone();
        }
        let offer = Arc::new(self.offer(items, marketplace));
        self.offers
            .entry(marketplace.to_string())
            .or_default()
            .push((items.to_vec(), offer.clone()));
        offer
    }

    /// Stock left in a marketplace (0 for an unknown item or marketplace).
    pub fn stock(&self, item: &str, marketplace: &str) -> i64 {
        self.items
            .get(item)
            .and_then(|i| i.stock.get(marketplace))
            .copied()
            .unwrap_or(0)
    }

    /// Adds `delta` to an item's stock in a marketplace it is sold in (reserve −1, release +1).
    pub fn adjust_stock(&mut self, item: &str, marketplace: &str, delta: i64) {
        if let Some(s) = self
            .items
            .get_mut(item)
            .and_then(|i| i.stock.get_mut(marketplace))
        {
            *s += delta;
        }
    }
}

/// Converts a USD-cent price into a marketplace's currency (rounded, integer only).
fn convert(usd_cents: i64, market: &str) -> Money {
    let cur = marketplace_currency(market).unwrap_or("USD");
    let (num, den) = match cur {
        "USD" => (1, 1),
        "CAD" => (135, 100),
        "MXN" => (17, 1),
        "BRL" => (5, 1),
        "GBP" => (80, 100),
        "EUR" => (92, 100),
        "INR" => (83, 1),
        "JPY" => (150, 10_000), // yen have no minor unit
        "AUD" => (150, 100),
        _ => (1, 1),
    };
    // Round to a "nice" price: whole units minus one minor unit for non-JPY.
    let raw = usd_cents * num / den;
    let amount = if cur == "JPY" {
        (raw / 10).max(1) * 10
    } else {
        ((raw + 99) / 100).max(1) * 100 - 1
    };
    Money {
        amount,
        currency: cur.into(),
    }
}

const ALL: &[&str] = &MARKETPLACES;
const WEST: &[&str] = &["US", "CA", "UK", "DE", "FR", "IT", "ES", "NL", "AU"];
const EU: &[&str] = &["UK", "DE", "FR", "IT", "ES", "NL"];
const NA: &[&str] = &["US", "CA", "MX"];

/// (id, title, description, kind, USD cents, marketplaces)
type Seed = (
    &'static str,
    &'static str,
    &'static str,
    ItemKind,
    i64,
    &'static [&'static str],
);

const SEED: &[Seed] = &[
    (
        "itm_echo_dot",
        "Echo Dot (5th Gen)",
        "Smart speaker with Alexa",
        ItemKind::Physical,
        4999,
        ALL,
    ),
    (
        "itm_echo_show",
        "Echo Show 8",
        "Smart display with Alexa",
        ItemKind::Physical,
        14999,
        ALL,
    ),
    (
        "itm_kindle",
        "Kindle Paperwhite",
        "Waterproof e-reader",
        ItemKind::Physical,
        14999,
        ALL,
    ),
    (
        "itm_fire_tv_stick",
        "Fire TV Stick 4K",
        "Streaming media player",
        ItemKind::Physical,
        4999,
        WEST,
    ),
    (
        "itm_water_bottle",
        "Insulated Water Bottle",
        "750 ml steel bottle",
        ItemKind::Physical,
        2499,
        ALL,
    ),
    (
        "itm_yoga_mat",
        "Yoga Mat",
        "6 mm non-slip mat",
        ItemKind::Physical,
        2999,
        WEST,
    ),
    (
        "itm_resistance_bands",
        "Resistance Bands Set",
        "Five bands with handles",
        ItemKind::Physical,
        1999,
        WEST,
    ),
    (
        "itm_foam_roller",
        "Foam Roller",
        "High-density 45 cm roller",
        ItemKind::Physical,
        2199,
        NA,
    ),
    (
        "itm_earbuds",
        "Wireless Earbuds",
        "Bluetooth earbuds with case",
        ItemKind::Physical,
        7999,
        ALL,
    ),
    (
        "itm_fitness_band",
        "Fitness Band",
        "Heart-rate and step tracker",
        ItemKind::Physical,
        5999,
        WEST,
    ),
    (
        "itm_headphones",
        "Over-ear Headphones",
        "Noise-cancelling headphones",
        ItemKind::Physical,
        19999,
        WEST,
    ),
    (
        "itm_coffee_mug",
        "Travel Coffee Mug",
        "Leak-proof 400 ml mug",
        ItemKind::Physical,
        1499,
        EU,
    ),
    (
        "itm_backpack",
        "Gym Backpack",
        "30 l backpack with shoe pocket",
        ItemKind::Physical,
        4499,
        NA,
    ),
    (
        "itm_skipping_rope",
        "Speed Skipping Rope",
        "Adjustable steel rope",
        ItemKind::Physical,
        999,
        ALL,
    ),
    (
        "itm_gc_5",
        "$5 Gift Card",
        "Digital gift card",
        ItemKind::Digital,
        500,
        ALL,
    ),
    (
        "itm_gc_10",
        "$10 Gift Card",
        "Digital gift card",
        ItemKind::Digital,
        1000,
        ALL,
    ),
    (
        "itm_gc_25",
        "$25 Gift Card",
        "Digital gift card",
        ItemKind::Digital,
        2500,
        ALL,
    ),
    (
        "itm_gc_50",
        "$50 Gift Card",
        "Digital gift card",
        ItemKind::Digital,
        5000,
        ALL,
    ),
    (
        "itm_gc_200",
        "$200 Gift Card",
        "Digital gift card",
        ItemKind::Digital,
        20000,
        ALL,
    ),
    (
        "itm_ebook_running",
        "E-book: Run Your First 10K",
        "Training plan e-book",
        ItemKind::Digital,
        999,
        ALL,
    ),
    (
        "itm_music_3m",
        "Music Unlimited, 3 months",
        "Streaming subscription code",
        ItemKind::Digital,
        2997,
        WEST,
    ),
    (
        "itm_audiobook_1",
        "One Audiobook",
        "Audiobook credit code",
        ItemKind::Digital,
        1495,
        WEST,
    ),
    (
        "itm_game_coins",
        "Game Coins 1000",
        "In-game currency code",
        ItemKind::Digital,
        999,
        ALL,
    ),
    (
        "itm_video_rental",
        "Movie Rental",
        "One HD movie rental",
        ItemKind::Digital,
        399,
        NA,
    ),
    (
        "itm_meditation_1y",
        "Meditation App, 1 year",
        "Premium subscription code",
        ItemKind::Digital,
        6999,
        EU,
    ),
    (
        "itm_credit_books_10",
        "Books credit",
        "Credit toward Books",
        ItemKind::Credit,
        1000,
        ALL,
    ),
    (
        "itm_credit_sports_25",
        "Sports & Outdoors credit",
        "Credit toward Sports & Outdoors",
        ItemKind::Credit,
        2500,
        ALL,
    ),
    (
        "itm_credit_store_5",
        "Store credit $5",
        "Store-wide credit",
        ItemKind::Credit,
        500,
        ALL,
    ),
    (
        "itm_credit_store_20",
        "Store credit $20",
        "Store-wide credit",
        ItemKind::Credit,
        2000,
        ALL,
    ),
    (
        "itm_credit_grocery_15",
        "Grocery credit",
        "Credit toward Grocery",
        ItemKind::Credit,
        1500,
        NA,
    ),
    (
        "itm_credit_music_10",
        "Digital Music credit",
        "Credit toward Digital Music",
        ItemKind::Credit,
        1000,
        WEST,
    ),
    (
        "itm_credit_electronics_50",
        "Electronics credit",
        "Credit toward Electronics",
        ItemKind::Credit,
        5000,
        EU,
    ),
];

/// The seeded catalog: dozens of items across the 13 marketplaces, with stock.
pub fn seed() -> BTreeMap<String, Item> {
    let mut out = BTreeMap::new();
    for (i, (id, title, desc, kind, usd, markets)) in SEED.iter().enumerate() {
        let mut prices = BTreeMap::new();
        let mut stock = BTreeMap::new();
        for m in markets.iter() {
            prices.insert(
                m.to_string(),
                if *m == "US" {
                    Money::usd(*usd)
                } else {
                    convert(*usd, m)
                },
            );
            let base = match kind {
                ItemKind::Physical => 120,
                ItemKind::Digital => 1000,
                ItemKind::Credit => 5000,
            };
            stock.insert(
                m.to_string(),
                if *m == "US" {
                    base
                } else {
                    base / 2 + (i as i64 % 7) * 5
                },
            );
        }
        out.insert(
            id.to_string(),
            Item {
                object: "item".into(),
                id: id.to_string(),
                title: title.to_string(),
                description: desc.to_string(),
                kind: *kind,
                image_url: Some(format!(
                    "https://images.example.com/catalog/{}.png",
                    id.trim_start_matches("itm_")
                )),
                prices,
                stock,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn seed_has_dozens_of_items_in_many_markets() {
        let c = super::seed();
        assert!(c.len() >= 30);
        let markets: std::collections::BTreeSet<_> =
            c.values().flat_map(|i| i.prices.keys().cloned()).collect();
        assert!(markets.len() >= 5);
        assert_eq!(c["itm_echo_dot"].prices["US"].amount, 4999);
        assert_eq!(c["itm_gc_10"].prices["JP"].currency, "JPY");
    }
}
