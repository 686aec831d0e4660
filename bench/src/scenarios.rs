//! The hot paths under load, as wrk Lua scripts, and the state they need.

use serde_json::{Value, json};

/// What the scripts need to know about the server's state.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub secret_key: String,
    pub campaign_id: String,
    pub moment_id: String,
    pub reward_id: String,
    pub reward_token: String,
    /// Where the redemption pool's token files go: this prefix, the wrk thread's number, `.txt`.
    pub pool: String,
    /// The path of the sandbox's base URL, before every path the scripts request: empty for the root
    /// tenant, `/t/ID` for tenant `ID` of a shared sandbox.
    pub base_path: String,
}

/// The digital item the bench's campaigns offer (loaded with ample stock by the setup).
pub const BENCH_ITEM: &str = "itm_bench_code";

/// One hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `POST /v1/triggers` with a fresh idempotency key, customer, device and IP: issues a reward.
    Trigger,
    /// `POST /v1/triggers` with one key and body: the idempotent replay.
    Replay,
    /// `GET /v1/rewards/{id}`.
    RewardRead,
    /// `GET /r/{token}`: the redemption landing page.
    Landing,
    /// `POST /v1/redemptions/{token}` choosing the digital item: each request redeems another reward,
    /// from a pool issued just before the load ([`Scenario::pool_script`]).
    Redemption,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 5] = [
        Scenario::Trigger,
        Scenario::Replay,
        Scenario::RewardRead,
        Scenario::Landing,
        Scenario::Redemption,
    ];

    /// Its short name on the command line (`--paths`).
    pub fn flag(self) -> &'static str {
        match self {
            Scenario::Trigger => "trigger",
            Scenario::Replay => "replay",
            Scenario::RewardRead => "read",
            Scenario::Landing => "landing",
            Scenario::Redemption => "redemption",
        }
    }

    /// Parses a comma-separated list of [`Scenario::flag`] names.
    pub fn parse_list(list: &str) -> Result<Vec<Scenario>, String> {
        list.split(',')
            .map(|name| {
                let name = name.trim();
                Scenario::ALL
                    .into_iter()
                    .find(|s| s.flag() == name)
                    .ok_or_else(|| {
                        let known: Vec<_> = Scenario::ALL.iter().map(|s| s.flag()).collect();
                        format!("unknown path `{name}` (known: {})", known.join(", "))
                    })
            })
            .collect()
    }

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Trigger => "trigger (fresh key)",
            Scenario::Replay => "trigger (replay)",
            Scenario::RewardRead => "reward read",
            Scenario::Landing => "landing page",
            Scenario::Redemption => "redemption",
        }
    }

    /// The wrk Lua script for this scenario.
    pub fn script(self, f: &Fixture, run: &str) -> String {
        let auth = format!("Bearer {}", f.secret_key);
        let base = &f.base_path;
        match self {
            Scenario::Trigger => format!(
                r#"
local counter = 0
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end
request = function()
  counter = counter + 1
  local id = tid .. "-" .. counter
  local ip = "10." .. (tid % 250) .. "." .. math.floor(counter / 250) % 250 .. "." .. counter % 250
  local body = '{{"campaign_id":"{campaign}","moment_id":"{moment}","customer":{{"id":"bench-{run}-' .. id ..
    '","marketplace":"US"}},"device":{{"type":"Android","id":"dev-{run}-' .. id .. '","ip":"' .. ip .. '"}}}}'
  return wrk.format("POST", "{base}/v1/triggers", {{
    ["Authorization"] = "{auth}",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-{run}-" .. id
  }}, body)
end
"#,
                campaign = f.campaign_id,
                moment = f.moment_id,
            ),
            Scenario::Replay => {
                let body = replay_body(f, run).to_string();
                format!(
                    r#"
wrk.method = "POST"
wrk.path = "{base}/v1/triggers"
wrk.body = '{body}'
wrk.headers["Authorization"] = "{auth}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Idempotency-Key"] = "bench-replay-{run}"
"#
                )
            }
            Scenario::RewardRead => format!(
                r#"
wrk.method = "GET"
wrk.path = "{base}/v1/rewards/{id}"
wrk.headers["Authorization"] = "{auth}"
"#,
                id = f.reward_id
            ),
            Scenario::Landing => format!(
                r#"
wrk.method = "GET"
wrk.path = "{base}/r/{token}"
"#,
                token = f.reward_token
            ),
            // Each thread redeems the tokens its namesake wrote in the pool run, once each; when they
            // run out it reads the fixture's redemption (a 200) and stops, so wrk's rate is over the
            // time the pool lasted.
            Scenario::Redemption => format!(
                r#"
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end
function init(args)
  tokens = {{}}
  for line in io.lines("{pool}" .. tid .. ".txt") do
    tokens[#tokens + 1] = line
  end
  taken = 0
  exhausted = false
end
request = function()
  taken = taken + 1
  local token = tokens[taken]
  if token == nil then
    exhausted = true
    return wrk.format("GET", "{base}/v1/redemptions/{fallback}")
  end
  return wrk.format("POST", "{base}/v1/redemptions/" .. token,
    {{["Content-Type"] = "application/json"}}, '{{"item_id":"{item}"}}')
end
response = function(status, headers, body)
  if exhausted then
    wrk.thread:stop()
  end
end
"#,
                pool = lua_path(&f.pool),
                fallback = f.reward_token,
                item = BENCH_ITEM,
            ),
        }
    }

    /// The trigger load that fills the redemption pool: each thread writes the link token of every
    /// reward it was answered to its own file (`{pool}{thread}.txt`, one per line, line-buffered so an
    /// interrupted run leaves whole lines). Not measured.
    pub fn pool_script(f: &Fixture, run: &str) -> String {
        let mut script = Scenario::Trigger.script(f, run);
        script.push_str(&format!(
            r#"
function init(args)
  out = io.open("{pool}" .. tid .. ".txt", "w")
  out:setvbuf("line")
end
response = function(status, headers, body)
  if status == 200 then
    local token = string.match(body, '/r/([%w_%-]+)"')
    if token then
      out:write(token, "\n")
    end
  end
end
"#,
            pool = lua_path(&f.pool)
        ));
        script
    }
}

/// The body the replay scenario sends again and again.
pub fn replay_body(f: &Fixture, run: &str) -> Value {
    json!({
        "campaign_id": f.campaign_id,
        "moment_id": f.moment_id,
        "customer": {"id": format!("bench-replay-{run}"), "marketplace": "US"},
        "device": {"type": "Android", "id": format!("bench-replay-{run}"), "ip": "10.255.0.1"}
    })
}

/// The same trigger as the fresh-key scenario, for json-server (a stateful peer that stores every body).
pub fn json_server_script() -> String {
    r#"
local counter = 0
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end
request = function()
  counter = counter + 1
  local id = tid .. "-" .. counter
  local body = '{"campaign_id":"cmp_bench","moment_id":"first_workout","customer":{"id":"c-' .. id ..
    '","marketplace":"US"},"device":{"type":"Android","id":"d-' .. id .. '"}}'
  return wrk.format("POST", "/triggers", {["Content-Type"] = "application/json"}, body)
end
"#
    .to_owned()
}

/// A path inside a Lua string literal.
fn lua_path(path: &str) -> String {
    path.replace('\\', "\\\\").replace('"', "\\\"")
}
