// =============================================================================================
// The policy runtime in Rust, for prop-amm-multi's native ABI: the Rust twin of runtime/*.ts.
// `propamm export` writes one self-contained .rs file: the checkpoint's policy (NAME,
// DECISION_INTERVAL, EPOCH_LEN, N_STRATEGIES, FEE_MIN_BPS, FEE_MAX_BPS, OBS_MEAN, OBS_VAR,
// OBS_CONSTANT, OBS_CLIP, the layer weights and `fn act`), then this file verbatim. Every computation keeps
// the TypeScript runtime's operation order, so the export makes the JavaScript export's storage
// writes and quotes byte for byte (test/agents/export.test.ts compiles it with rustc and
// compares; test/runtime/rust.test.ts checks the slots, tags and offsets below against
// runtime/slots.ts and env/abi.ts).
// =============================================================================================

// ---------------------------------------------------------------------------------------------
// Deterministic exp / log / tanh: a line-by-line port of runtime/detmath.ts. IEEE basic operations
// only (Rust never fuses a * b + c on its own), so these give the JavaScript policy's bits; the
// platform's libm (f64::ln, f64::tanh) may differ by an ulp and eventually flip a fee decision.
// ---------------------------------------------------------------------------------------------

const LN2_HI: f64 = 6.931471803691238e-1; // ln 2, upper bits (fdlibm's split)
const LN2_LO: f64 = 1.9082149292705877e-10; // ln 2 - LN2_HI
const INV_LN2: f64 = 1.4426950408889634;
const SQRT_HALF: f64 = 0.7071067811865476;

/// 2^k for an integer k in [-1022, 1023], exactly.
fn pow2(k: f64) -> f64 {
    f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// e^x.
fn det_exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    // x = k ln2 + r, |r| <= ln2 / 2.
    let k = (x * INV_LN2 + 0.5).floor();
    let r = x - k * LN2_HI - k * LN2_LO;
    // Taylor series of e^r to degree 13 (Horner): error below 1e-17 for |r| <= 0.347.
    let mut p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // Split the scaling so that k near the exponent limits stays exact.
    if k > 1000.0 {
        return p * pow2(1000.0) * pow2(k - 1000.0);
    }
    if k < -1000.0 {
        return p * pow2(-1000.0) * pow2(k + 1000.0);
    }
    p * pow2(k)
}

/// Natural logarithm of a positive, finite x (NaN for x < 0 or NaN, -inf for 0).
fn det_log(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
    let mut e: f64 = 0.0;
    let mut m = x;
    if m < 2.2250738585072014e-308 {
        m *= pow2(54.0);
        e -= 54.0;
    }
    let bits = m.to_bits();
    let hi = (bits >> 32) as u32;
    e += (((hi >> 20) & 0x7ff) as f64) - 1023.0;
    // Exponent bits of 1.0, same mantissa: m in [1, 2).
    m = f64::from_bits(((((hi & 0x000fffff) | 0x3ff00000) as u64) << 32) | (bits & 0xffff_ffff));
    if m > 1.0 / SQRT_HALF {
        m *= 0.5;
        e += 1.0;
    }
    // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: series to s^25.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut q = 1.0 / 25.0;
    q = q * s2 + 1.0 / 23.0;
    q = q * s2 + 1.0 / 21.0;
    q = q * s2 + 1.0 / 19.0;
    q = q * s2 + 1.0 / 17.0;
    q = q * s2 + 1.0 / 15.0;
    q = q * s2 + 1.0 / 13.0;
    q = q * s2 + 1.0 / 11.0;
    q = q * s2 + 1.0 / 9.0;
    q = q * s2 + 1.0 / 7.0;
    q = q * s2 + 1.0 / 5.0;
    q = q * s2 + 1.0 / 3.0;
    q = q * s2 + 1.0;
    2.0 * s * q + e * LN2_LO + e * LN2_HI
}

/// e^r - 1 for |r| <= 0.7, without the cancellation of det_exp(r) - 1 (series to r^18).
fn expm1_small(r: f64) -> f64 {
    let mut p = 1.0 / 6402373705728000.0;
    p = p * r + 1.0 / 355687428096000.0;
    p = p * r + 1.0 / 20922789888000.0;
    p = p * r + 1.0 / 1307674368000.0;
    p = p * r + 1.0 / 87178291200.0;
    p = p * r + 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p * r
}

/// tanh(x) = (e^2x - 1) / (e^2x + 1).
fn det_tanh(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 20.0 {
        return 1.0;
    }
    if x < -20.0 {
        return -1.0;
    }
    let r = 2.0 * x;
    let em1 = if r > -0.7 && r < 0.7 {
        expm1_small(r)
    } else {
        det_exp(r) - 1.0
    };
    em1 / (em1 + 2.0)
}

// JavaScript's Math.min / Math.max (NaN propagates, -0 < +0); Rust's f64::min/max differ on NaN.
fn js_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b {
        a
    } else if b < a {
        b
    } else if a == 0.0 && (a.is_sign_negative() || b.is_sign_negative()) {
        -0.0
    } else {
        a
    }
}

fn js_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a > b {
        a
    } else if b > a {
        b
    } else if a == 0.0 && (a.is_sign_positive() || b.is_sign_positive()) {
        0.0
    } else {
        a
    }
}

// ---------------------------------------------------------------------------------------------
// Storage (spec §3): 1024 bytes, slot k = bytes 8k..8k+7, little-endian. Slots 0-7 follow the
// starter's convention, 8-11 are the agent pool's (runtime/slots.ts). Values are read and
// written exactly as the JavaScript DataView helpers do (runtime/slots.ts).
// ---------------------------------------------------------------------------------------------

const STORAGE_BYTES: usize = 1024;
const SLOT_FEE0: usize = 0; // side-0 fee, u64 WAD (1e18 = 100%)
const SLOT_FEE1: usize = 1; // side-1 fee, u64 WAD
const SLOT_VOL: usize = 2; // volatility estimate (f64)
const SLOT_LAST_SPOT: usize = 3; // spot after the last trade (f64); 0 until the first trade
const SLOT_FLOW_EMA: usize = 4; // EMA of the flow captured (f64)
const SLOT_TRADES: usize = 5; // trades this epoch (u64)
const SLOT_CAPITAL_WEIGHT: usize = 6; // capital weight at the last event (f64)
const SLOT_EPOCH: usize = 7; // epoch number (u64)
const SLOT_LAST_DECISION: usize = 8; // step of the last decision (f64)
const SLOT_EPOCH_STEP: usize = 9; // epoch step at the last event (f64): 0 after a boundary
const SLOT_N_POOLS: usize = 10; // pools incl. the normalizer, as the events report it (f64)
const SLOT_FEES_SET: usize = 11; // 1 once a decision has written the fee slots (u64)
                                 // The extended observation's slots (runtime/slots.ts EXT_SLOT), written only when EXTENDED.
const SLOT_LAST_SIDE: usize = 12; // +1 side 0, -1 side 1, 0 before any trade (f64)
const SLOT_LAST_RETAIL: usize = 13; // 1 retail, 0 arbitrage (f64)
const SLOT_LAST_SIZE: usize = 14; // input / reserve of the input asset after the trade (f64)
const SLOT_SPOT_VS_NORM: usize = 15; // ln(spot / normalizer spot) (f64)
const SLOT_SPOT_VS_MIN: usize = 16; // ln(spot / lowest competing strategy spot) (f64)
const SLOT_SPOT_VS_MAX: usize = 17; // ln(spot / highest competing strategy spot) (f64)
const SLOT_LAST_TRADE_STEP: usize = 18; // (f64)
const SLOT_PREV_TRADE_STEP: usize = 19; // (f64)
const SLOT_PREV_DECISION: usize = 20; // step of the decision before the last one (f64)
const SLOT_FLOW_EMA0: usize = 21; // EMA of flow captured over side-0 trades (f64)
const SLOT_FLOW_EMA1: usize = 22; // EMA of flow captured over side-1 trades (f64)
const SLOT_LAST_EPOCH_EDGE: usize = 23; // edge of the last completed epoch (f64)
const SLOT_TRADES_SEEN: usize = 24; // trades seen, capped at 2 (f64)
                                    // The per-step volatility feature's slots (runtime/slots.ts STEP_VOL_SLOT), written only when STEP_VOL.
const SLOT_STEP_VOL: usize = 25; // EMA of |ln spot change| / sqrt(steps between trades) (f64)
const SLOT_STEP_VOL_LAST_STEP: usize = 26; // step of the last trade (f64)

const WAD_PER_BPS: f64 = 1e14;
const TWO_64: f64 = 18446744073709551616.0;

type Storage = [u8; STORAGE_BYTES];

fn bytes8(b: &[u8], off: usize) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    a
}

fn bytes4(b: &[u8], off: usize) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    a
}

fn read_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(bytes8(b, off))
}

fn read_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(bytes4(b, off))
}

/// An f32 field widened to f64, as JavaScript's DataView.getFloat32 returns it.
fn read_f32(b: &[u8], off: usize) -> f64 {
    f32::from_le_bytes(bytes4(b, off)) as f64
}

/// A wire amount ("nano", 1e9 scale) in token units.
fn from_nano(n: u64) -> f64 {
    n as f64 / 1e9
}

/// Token units to nano: floor(v * 1e9); NaN or v <= 0 -> 0; +inf or overflow -> 2^64 - 1.
fn to_nano(v: f64) -> u64 {
    if v.is_nan() || v <= 0.0 {
        return 0;
    }
    let scaled = (v * 1e9).floor();
    if !scaled.is_finite() || scaled >= TWO_64 {
        return u64::MAX;
    }
    scaled as u64
}

fn slot_f64(st: &Storage, slot: usize) -> f64 {
    f64::from_le_bytes(bytes8(st, slot * 8))
}

fn set_slot_f64(st: &mut Storage, slot: usize, value: f64) {
    st[slot * 8..slot * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

/// A u64 slot as the nearest double.
fn slot_u64(st: &Storage, slot: usize) -> f64 {
    read_u64(st, slot * 8) as f64
}

fn set_slot_u64_raw(st: &mut Storage, slot: usize, value: u64) {
    st[slot * 8..slot * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

/// Writes floor(value), clamped to [0, 2^64), to a u64 slot.
fn set_slot_u64(st: &mut Storage, slot: usize, value: f64) {
    let w = if value.is_finite() && value > 0.0 {
        value.floor()
    } else {
        0.0
    };
    let raw = if value == f64::INFINITY || w >= TWO_64 {
        u64::MAX
    } else {
        w as u64
    };
    set_slot_u64_raw(st, slot, raw);
}

/// A fee in bps as u64 WAD: floored to the WAD unit; negative, NaN or infinite fees store 0.
fn fee_wad(bps: f64) -> u64 {
    if bps.is_finite() && bps > 0.0 {
        let w = (bps * WAD_PER_BPS).floor();
        // Wraps like JavaScript's BigInt.asUintN(64, ..) would (never reached: fees are < 10000 bps).
        if w >= TWO_64 {
            (w % TWO_64) as u64
        } else {
            w as u64
        }
    } else {
        0
    }
}

/// A fee slot as a fraction (0.003 = 30 bps).
fn read_fee(st: &Storage, slot: usize) -> f64 {
    slot_u64(st, slot) / WAD_PER_BPS / 10000.0
}

/// A decision's fees, and the mark that the fee slots now hold them.
fn set_fees(st: &mut Storage, fees_bps: (f64, f64)) {
    set_slot_u64_raw(st, SLOT_FEE0, fee_wad(fees_bps.0));
    set_slot_u64_raw(st, SLOT_FEE1, fee_wad(fees_bps.1));
    set_slot_u64_raw(st, SLOT_FEES_SET, 1);
}

fn fees_set(st: &Storage) -> bool {
    slot_u64(st, SLOT_FEES_SET) != 0.0
}

/// The fee (fraction) quoted on a side: the stored one, or the reset decision's until a hook stores it.
fn current_fee(st: &Storage, side: u8) -> f64 {
    if fees_set(st) {
        return read_fee(st, if side == 0 { SLOT_FEE0 } else { SLOT_FEE1 });
    }
    // As the reset decision's fees read back from their WAD slots.
    let (f0, f1) = reset_fees_bps();
    let wad = fee_wad(if side == 0 { f0 } else { f1 });
    wad as f64 / WAD_PER_BPS / 10000.0
}

// The reset decision is the policy on the features before any trade, which include the number
// of strategies. An engine that knows it calls `__prop_amm_init` first (prop-amm gym does, once
// per simulation); otherwise the baked N_STRATEGIES stands. Atomics rather than
// std::sync::OnceLock so that older compilers build it too (Debian 12's rustc 1.63); two threads
// racing compute the same deterministic bits.
static N_TOLD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static RESET_READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static RESET_FEE0: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static RESET_FEE1: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Strategies in the simulation (pools before the normalizer): as told, else as baked.
fn n_strategies() -> f64 {
    match N_TOLD.load(std::sync::atomic::Ordering::Acquire) {
        0 => N_STRATEGIES,
        n => n as f64,
    }
}

/// The reset decision's fees (bps). Computed once per count of strategies (quotes before the
/// first hook would otherwise each run the network).
fn reset_fees_bps() -> (f64, f64) {
    use std::sync::atomic::Ordering;
    if RESET_READY.load(Ordering::Acquire) {
        return (
            f64::from_bits(RESET_FEE0.load(Ordering::Relaxed)),
            f64::from_bits(RESET_FEE1.load(Ordering::Relaxed)),
        );
    }
    let fees = decide(&initial_features(), &read_extended(&[0u8; STORAGE_BYTES]));
    RESET_FEE0.store(fees.0.to_bits(), Ordering::Relaxed);
    RESET_FEE1.store(fees.1.to_bits(), Ordering::Relaxed);
    RESET_READY.store(true, Ordering::Release);
    fees
}

/// Until the first hook the reset decision's fees live only in code; the first hook stores them.
fn materialise(st: &mut Storage) {
    if !fees_set(st) {
        set_fees(st, reset_fees_bps());
    }
}

// ---------------------------------------------------------------------------------------------
// Features (runtime/features.ts): the starter's volatility EMA of log spot changes between trades,
// EMA of flow captured and trade count.
// ---------------------------------------------------------------------------------------------

const INITIAL_VOL: f64 = 0.003;
const INITIAL_FLOW_EMA: f64 = 0.5;

fn update_features(st: &mut Storage, reserve_x: f64, reserve_y: f64, flow_captured: f64) {
    let spot = reserve_y / reserve_x;
    let mut last_spot = slot_f64(st, SLOT_LAST_SPOT);
    let mut vol = slot_f64(st, SLOT_VOL);
    let mut flow_ema = slot_f64(st, SLOT_FLOW_EMA);
    if last_spot == 0.0 {
        // First trade of the simulation (storage starts zeroed).
        last_spot = spot;
        vol = INITIAL_VOL;
        flow_ema = INITIAL_FLOW_EMA;
    }
    vol = 0.05 * det_log(spot / last_spot).abs() + 0.95 * vol;
    flow_ema = 0.1 * flow_captured + 0.9 * flow_ema;
    set_slot_f64(st, SLOT_VOL, vol);
    set_slot_f64(st, SLOT_FLOW_EMA, flow_ema);
    set_slot_f64(st, SLOT_LAST_SPOT, spot);
    let trades = slot_u64(st, SLOT_TRADES);
    set_slot_u64(st, SLOT_TRADES, trades + 1.0);
}

const INITIAL_STEP_VOL: f64 = 0.002;

/// The per-step volatility feature's after-swap update (runtime/features.ts updateStepVol).
/// Runs before update_features, while SLOT_LAST_SPOT still holds the previous trade's spot.
fn update_step_vol(st: &mut Storage, reserve_x: f64, reserve_y: f64, sim_step: f64) {
    let spot = reserve_y / reserve_x;
    let last = slot_f64(st, SLOT_LAST_SPOT);
    let mut est = INITIAL_STEP_VOL;
    if last != 0.0 {
        let steps = js_max(1.0, sim_step - slot_f64(st, SLOT_STEP_VOL_LAST_STEP));
        est =
            0.95 * slot_f64(st, SLOT_STEP_VOL) + (0.05 * det_log(spot / last).abs()) / steps.sqrt();
    }
    set_slot_f64(st, SLOT_STEP_VOL, est);
    set_slot_f64(st, SLOT_STEP_VOL_LAST_STEP, sim_step);
}

/// ln(a / b), or 0 when the ratio is not a positive finite number.
fn log_ratio(a: f64, b: f64) -> f64 {
    let r = a / b;
    if r > 0.0 && r < f64::INFINITY {
        det_log(r)
    } else {
        0.0
    }
}

/// The extended features' after-swap updates (runtime/features.ts updateExtendedFeatures).
fn update_extended(
    d: &[u8],
    st: &mut Storage,
    reserve_x: f64,
    reserve_y: f64,
    flow_captured: f64,
    sim_step: f64,
) {
    let spot = reserve_y / reserve_x;
    let side0 = d[AS_SIDE] == 0;
    set_slot_f64(st, SLOT_LAST_SIDE, if side0 { 1.0 } else { -1.0 });
    set_slot_f64(
        st,
        SLOT_LAST_RETAIL,
        if flow_captured > 0.0 { 1.0 } else { 0.0 },
    );
    let reserve_in = if side0 { reserve_y } else { reserve_x };
    let input = from_nano(read_u64(d, AS_INPUT));
    set_slot_f64(
        st,
        SLOT_LAST_SIZE,
        if reserve_in > 0.0 {
            input / reserve_in
        } else {
            0.0
        },
    );

    // The list holds every pool but this one, normalizer last, cut after 8 entries: the
    // normalizer is entry n_strategies - 2 if that is below 8, the strategies come before it.
    let listed = 8;
    let norm_index = d[AS_N_STRATEGIES] as i64 - 2;
    let strategies = if listed < norm_index {
        listed
    } else {
        norm_index
    };
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut k = 0;
    while k < strategies {
        let p = read_f32(d, AS_COMPETING + 4 * k as usize);
        if p < lo {
            lo = p;
        }
        if p > hi {
            hi = p;
        }
        k += 1;
    }
    let vs_norm = if norm_index >= 0 && norm_index < listed {
        log_ratio(spot, read_f32(d, AS_COMPETING + 4 * norm_index as usize))
    } else {
        0.0
    };
    set_slot_f64(st, SLOT_SPOT_VS_NORM, vs_norm);
    set_slot_f64(
        st,
        SLOT_SPOT_VS_MIN,
        if lo < f64::INFINITY {
            log_ratio(spot, lo)
        } else {
            0.0
        },
    );
    set_slot_f64(
        st,
        SLOT_SPOT_VS_MAX,
        if hi > f64::NEG_INFINITY {
            log_ratio(spot, hi)
        } else {
            0.0
        },
    );

    let seen = slot_f64(st, SLOT_TRADES_SEEN);
    let mut ema0 = slot_f64(st, SLOT_FLOW_EMA0);
    let mut ema1 = slot_f64(st, SLOT_FLOW_EMA1);
    if seen == 0.0 {
        ema0 = INITIAL_FLOW_EMA;
        ema1 = INITIAL_FLOW_EMA;
    } else {
        let last = slot_f64(st, SLOT_LAST_TRADE_STEP);
        set_slot_f64(st, SLOT_PREV_TRADE_STEP, last);
    }
    if side0 {
        ema0 = 0.1 * flow_captured + 0.9 * ema0;
    } else {
        ema1 = 0.1 * flow_captured + 0.9 * ema1;
    }
    set_slot_f64(st, SLOT_FLOW_EMA0, ema0);
    set_slot_f64(st, SLOT_FLOW_EMA1, ema1);
    set_slot_f64(st, SLOT_LAST_TRADE_STEP, sim_step);
    set_slot_f64(
        st,
        SLOT_TRADES_SEEN,
        if seen < 2.0 { seen + 1.0 } else { 2.0 },
    );
}

/// The extended features at a decision (runtime/features.ts viewReadExtended).
struct ExtFeatures {
    last_side: f64,
    last_retail: f64,
    last_size: f64,
    spot_vs_norm: f64,
    spot_vs_min: f64,
    spot_vs_max: f64,
    steps_since_trade: f64,
    trade_gap: f64,
    steps_since_decision: f64,
    flow_ema0: f64,
    flow_ema1: f64,
    last_epoch_edge: f64,
}

fn read_extended(st: &Storage) -> ExtFeatures {
    let seen = slot_f64(st, SLOT_TRADES_SEEN);
    let decision_step = slot_f64(st, SLOT_LAST_DECISION);
    let last_trade = slot_f64(st, SLOT_LAST_TRADE_STEP);
    ExtFeatures {
        last_side: slot_f64(st, SLOT_LAST_SIDE),
        last_retail: slot_f64(st, SLOT_LAST_RETAIL),
        last_size: slot_f64(st, SLOT_LAST_SIZE),
        spot_vs_norm: slot_f64(st, SLOT_SPOT_VS_NORM),
        spot_vs_min: slot_f64(st, SLOT_SPOT_VS_MIN),
        spot_vs_max: slot_f64(st, SLOT_SPOT_VS_MAX),
        steps_since_trade: if seen > 0.0 {
            decision_step - last_trade
        } else {
            0.0
        },
        trade_gap: if seen > 1.0 {
            last_trade - slot_f64(st, SLOT_PREV_TRADE_STEP)
        } else {
            0.0
        },
        steps_since_decision: decision_step - slot_f64(st, SLOT_PREV_DECISION),
        flow_ema0: if seen > 0.0 {
            slot_f64(st, SLOT_FLOW_EMA0)
        } else {
            INITIAL_FLOW_EMA
        },
        flow_ema1: if seen > 0.0 {
            slot_f64(st, SLOT_FLOW_EMA1)
        } else {
            INITIAL_FLOW_EMA
        },
        last_epoch_edge: slot_f64(st, SLOT_LAST_EPOCH_EDGE),
    }
}

/// The raw features the policy observes (spec §6), and the per-step volatility (read only when
/// STEP_VOL; runtime/features.ts viewReadStepVol).
struct Features {
    sigma_hat: f64,
    flow_ema: f64,
    capital_weight: f64,
    epoch_step: f64,
    n_pools: f64,
    step_vol: f64,
}

/// Features before any trade: the starter's initial estimates and an equal capital share.
fn initial_features() -> Features {
    Features {
        sigma_hat: INITIAL_VOL,
        flow_ema: INITIAL_FLOW_EMA,
        capital_weight: 1.0 / n_strategies(),
        epoch_step: 0.0,
        n_pools: n_strategies() + 1.0,
        step_vol: INITIAL_STEP_VOL,
    }
}

fn read_features(st: &Storage) -> Features {
    let fallback = initial_features();
    let traded = slot_f64(st, SLOT_LAST_SPOT) != 0.0;
    let pools = slot_f64(st, SLOT_N_POOLS);
    Features {
        sigma_hat: if traded {
            slot_f64(st, SLOT_VOL)
        } else {
            fallback.sigma_hat
        },
        flow_ema: if traded {
            slot_f64(st, SLOT_FLOW_EMA)
        } else {
            fallback.flow_ema
        },
        capital_weight: if pools > 0.0 {
            slot_f64(st, SLOT_CAPITAL_WEIGHT)
        } else {
            fallback.capital_weight
        },
        epoch_step: slot_f64(st, SLOT_EPOCH_STEP),
        n_pools: if pools > 0.0 { pools } else { fallback.n_pools },
        step_vol: if STEP_VOL && traded {
            slot_f64(st, SLOT_STEP_VOL)
        } else {
            fallback.step_vol
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Observation (runtime/mapping.ts): float32 like the env's Float32Array, scaled and clipped.
// ---------------------------------------------------------------------------------------------

const SIGMA_OBS_SCALE: f64 = 100.0;
const SIGMA_OBS_MAX: f64 = 10.0;
const MAX_POOLS: f64 = 17.0;

/// Rounds to float32 and back, as storing into a Float32Array does (round to nearest even).
fn f32_round(x: f64) -> f64 {
    x as f32 as f64
}

const SPOT_RATIO_OBS_SCALE: f64 = 100.0;
const SPOT_RATIO_OBS_MAX: f64 = 5.0;
const TRADE_STEPS_OBS_SCALE: f64 = 100.0;
const EPOCH_EDGE_OBS_SCALE: f64 = 100.0;
const EPOCH_EDGE_OBS_MAX: f64 = 10.0;
const STEP_VOL_OBS_SCALE: f64 = 1000.0;
const STEP_VOL_OBS_MAX: f64 = 10.0;

fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    js_min(hi, js_max(lo, x))
}

/// The observation: the seed's five values, then (EXTENDED) the extended ones or (STEP_VOL) the
/// per-step volatility (runtime/mapping.ts).
fn observation(f: &Features, x: &ExtFeatures) -> [f64; OBS_SIZE] {
    let mut o = [0.0f64; OBS_SIZE];
    let out: &mut [f64] = &mut o;
    out[0] = js_min(SIGMA_OBS_MAX, js_max(0.0, f.sigma_hat * SIGMA_OBS_SCALE));
    out[1] = js_min(1.0, js_max(0.0, f.flow_ema));
    out[2] = js_min(1.0, js_max(0.0, f.capital_weight));
    out[3] = js_min(1.0, js_max(0.0, f.epoch_step / EPOCH_LEN));
    out[4] = js_min(1.0, f.n_pools / MAX_POOLS);
    if EXTENDED {
        let r = SPOT_RATIO_OBS_MAX;
        out[5] = x.last_side;
        out[6] = x.last_retail;
        out[7] = if x.last_size > 0.0 {
            clip(
                1.0 + det_log(x.last_size) / std::f64::consts::LN_10 / 5.0,
                0.0,
                1.0,
            )
        } else {
            0.0
        };
        out[8] = clip(x.spot_vs_norm * SPOT_RATIO_OBS_SCALE, -r, r);
        out[9] = clip(x.spot_vs_min * SPOT_RATIO_OBS_SCALE, -r, r);
        out[10] = clip(x.spot_vs_max * SPOT_RATIO_OBS_SCALE, -r, r);
        out[11] = clip(x.steps_since_trade / TRADE_STEPS_OBS_SCALE, 0.0, 1.0);
        out[12] = clip(x.trade_gap / TRADE_STEPS_OBS_SCALE, 0.0, 1.0);
        out[13] = clip(x.steps_since_decision / EPOCH_LEN, 0.0, 1.0);
        out[14] = clip(x.flow_ema0, 0.0, 1.0);
        out[15] = clip(x.flow_ema1, 0.0, 1.0);
        out[16] = clip(
            x.last_epoch_edge / EPOCH_EDGE_OBS_SCALE,
            -EPOCH_EDGE_OBS_MAX,
            EPOCH_EDGE_OBS_MAX,
        );
    }
    if STEP_VOL {
        out[5] = js_min(
            STEP_VOL_OBS_MAX,
            js_max(0.0, f.step_vol * STEP_VOL_OBS_SCALE),
        );
    }
    // float32 like the env's Float32Array.
    for v in out.iter_mut() {
        *v = f32_round(*v);
    }
    o
}

// ---------------------------------------------------------------------------------------------
// The policy (runtime/mlp.ts): x = clip((obs - mean) / sqrt(var + eps), +-clip), with a scale of
// 0 for a feature constant in training (OBS_CONSTANT), then dense layers in double precision,
// summing bias + x[0] k[0][j] + x[1] k[1][j] + ... in that order.
// ---------------------------------------------------------------------------------------------

const OBS_EPS: f64 = 1e-8;

#[derive(Clone, Copy)]
#[allow(dead_code)]
enum Activation {
    Tanh,
    Relu,
    Linear,
}

fn normalize(obs: &[f64], x: &mut [f64]) {
    for i in 0..x.len() {
        // A constant feature is 0 outright: (obs - mean) * 0 would be NaN for an infinite obs.
        let z = if OBS_CONSTANT[i] {
            0.0
        } else {
            (obs[i] - OBS_MEAN[i]) * (1.0 / (OBS_VAR[i] + OBS_EPS).sqrt())
        };
        x[i] = if z > OBS_CLIP {
            OBS_CLIP
        } else if z < -OBS_CLIP {
            -OBS_CLIP
        } else {
            z
        };
    }
}

/// y = activation(bias + x . kernel), kernel row-major [inputs x outputs].
fn dense(x: &[f64], kernel: &[f64], bias: &[f64], activation: Activation, y: &mut [f64]) {
    let outputs = y.len();
    for j in 0..outputs {
        let mut s = bias[j];
        for i in 0..x.len() {
            s += x[i] * kernel[i * outputs + j];
        }
        y[j] = match activation {
            Activation::Tanh => det_tanh(s),
            Activation::Relu => {
                if s > 0.0 {
                    s
                } else {
                    0.0
                }
            }
            Activation::Linear => s,
        };
    }
}

/// Action in [-1, 1] -> fee in bps over [FEE_MIN_BPS, FEE_MAX_BPS]; values outside are clipped.
fn action_to_fee_bps(a: f64) -> f64 {
    let c = js_min(1.0, js_max(-1.0, a));
    FEE_MIN_BPS + ((c + 1.0) / 2.0) * (FEE_MAX_BPS - FEE_MIN_BPS)
}

/// The policy's fees (bps) for some features.
fn decide(f: &Features, x: &ExtFeatures) -> (f64, f64) {
    let a = act(&observation(f, x));
    (action_to_fee_bps(a[0]), action_to_fee_bps(a[1]))
}

// ---------------------------------------------------------------------------------------------
// The hooks: the agent pool (runtime/schedule.ts) with the policy deciding in them (runtime/policy.ts).
// ---------------------------------------------------------------------------------------------

// The payload layouts (env/abi.ts; test/runtime/rust.test.ts checks every constant against it).
const TAG_AFTER_SWAP: u8 = 2;
const TAG_EPOCH_BOUNDARY: u8 = 5;
const AFTER_SWAP_HEADER: usize = 92;
const EPOCH_HEADER: usize = 41;
const COMPUTE_SWAP_HEADER: usize = 25;
// After swap: side u8 @1, input/output u64 nano @2/10, reserves u64 nano, sim_step u64,
// epoch_step u32, epoch_number u32, n_strategies u8, strategy_index u8 @51, flow_captured f32,
// capital_weight f32, competing spots f32 x 8 @60.
const AS_SIDE: usize = 1;
const AS_INPUT: usize = 2;
const AS_RESERVE_X: usize = 18;
const AS_RESERVE_Y: usize = 26;
const AS_SIM_STEP: usize = 34;
const AS_EPOCH_STEP: usize = 42;
const AS_N_STRATEGIES: usize = 50;
const AS_FLOW_CAPTURED: usize = 52;
const AS_CAPITAL_WEIGHT: usize = 56;
const AS_COMPETING: usize = 60;
// Epoch boundary: epoch_number u32, new reserves u64 nano @5/13, epoch/cumulative edge f64
// @21/29, capital_weight f32.
const EB_EPOCH_NUMBER: usize = 1;
const EB_EPOCH_EDGE: usize = 21;
const EB_CAPITAL_WEIGHT: usize = 37;
// Quote: side u8 @0 (0: pay Y, receive X; 1: pay X, receive Y), then u64 nano amounts.
const CS_INPUT: usize = 1;
const CS_RESERVE_X: usize = 9;
const CS_RESERVE_Y: usize = 17;

fn after_swap(d: &[u8], st: &mut Storage) {
    let reserve_x = from_nano(read_u64(d, AS_RESERVE_X));
    let reserve_y = from_nano(read_u64(d, AS_RESERVE_Y));
    let sim_step = read_u64(d, AS_SIM_STEP) as f64;
    let epoch_step = read_u32(d, AS_EPOCH_STEP) as f64;
    let n_pools = d[AS_N_STRATEGIES] as f64;
    let flow_captured = read_f32(d, AS_FLOW_CAPTURED);
    let capital_weight = read_f32(d, AS_CAPITAL_WEIGHT);

    materialise(st);
    if STEP_VOL {
        update_step_vol(st, reserve_x, reserve_y, sim_step);
    }
    update_features(st, reserve_x, reserve_y, flow_captured);
    set_slot_f64(st, SLOT_CAPITAL_WEIGHT, capital_weight);
    set_slot_f64(st, SLOT_EPOCH_STEP, epoch_step);
    set_slot_f64(st, SLOT_N_POOLS, n_pools);
    if EXTENDED {
        update_extended(d, st, reserve_x, reserve_y, flow_captured, sim_step);
    }
    let last = slot_f64(st, SLOT_LAST_DECISION);
    if sim_step - last >= DECISION_INTERVAL {
        if EXTENDED {
            set_slot_f64(st, SLOT_PREV_DECISION, last);
        }
        set_slot_f64(st, SLOT_LAST_DECISION, sim_step);
        let fees = decide(&read_features(st), &read_extended(st));
        set_fees(st, fees);
    }
}

fn epoch_boundary(d: &[u8], st: &mut Storage) {
    let epoch_number = read_u32(d, EB_EPOCH_NUMBER) as f64;
    let capital_weight = read_f32(d, EB_CAPITAL_WEIGHT);

    materialise(st);
    // The starter's epoch updates, without its fee adjustments (the policy sets the fees).
    let vol = slot_f64(st, SLOT_VOL);
    set_slot_f64(st, SLOT_VOL, 0.5 * vol + 0.5 * INITIAL_VOL);
    set_slot_u64(st, SLOT_TRADES, 0.0);
    set_slot_f64(st, SLOT_CAPITAL_WEIGHT, capital_weight);
    set_slot_u64(st, SLOT_EPOCH, epoch_number);
    set_slot_f64(st, SLOT_EPOCH_STEP, 0.0);
    if EXTENDED {
        set_slot_f64(
            st,
            SLOT_LAST_EPOCH_EDGE,
            f64::from_le_bytes(bytes8(d, EB_EPOCH_EDGE)),
        );
        let last = slot_f64(st, SLOT_LAST_DECISION);
        set_slot_f64(st, SLOT_PREV_DECISION, last);
    }
    // The boundary follows the epoch's last step; the event does not carry it, so the epoch
    // length baked above stands in for the simulation's (as the JavaScript agent uses its config).
    set_slot_f64(
        st,
        SLOT_LAST_DECISION,
        (epoch_number + 1.0) * EPOCH_LEN - 1.0,
    );
    let fees = decide(&read_features(st), &read_extended(st));
    set_fees(st, fees);
}

// ---------------------------------------------------------------------------------------------
// The native ABI (prop-amm-multi).
// ---------------------------------------------------------------------------------------------

/// Quote: side, input and reserves, then the storage (see the layout constants). Returns the
/// output in nano; constant product with the fee on input.
#[no_mangle]
pub extern "C" fn __prop_amm_compute_swap(data: *const u8, len: usize) -> u64 {
    if data.is_null() || len < COMPUTE_SWAP_HEADER + STORAGE_BYTES {
        return 0;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let side = d[0];
    if side > 1 {
        return 0;
    }
    let input = from_nano(read_u64(d, CS_INPUT));
    let rx = from_nano(read_u64(d, CS_RESERVE_X));
    let ry = from_nano(read_u64(d, CS_RESERVE_Y));
    let mut st: Storage = [0u8; STORAGE_BYTES];
    st.copy_from_slice(&d[COMPUTE_SWAP_HEADER..COMPUTE_SWAP_HEADER + STORAGE_BYTES]);
    let gi = (1.0 - current_fee(&st, side)) * input;
    let out = if side == 0 {
        (rx * gi) / (ry + gi)
    } else {
        (ry * gi) / (rx + gi)
    };
    to_nano(out)
}

/// Hooks: tag 2 (after swap) or tag 5 (epoch boundary), a header then the storage. The
/// payload's storage is updated and written to `storage` (1024 bytes); anything else is ignored.
#[no_mangle]
pub extern "C" fn __prop_amm_after_swap(data: *const u8, len: usize, storage: *mut u8) {
    if data.is_null() || storage.is_null() || len == 0 {
        return;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let header = match d[0] {
        TAG_AFTER_SWAP => AFTER_SWAP_HEADER,
        TAG_EPOCH_BOUNDARY => EPOCH_HEADER,
        _ => return,
    };
    if len < header + STORAGE_BYTES {
        return;
    }
    // Work on a copy: `storage` may alias the payload's storage bytes.
    let mut st: Storage = [0u8; STORAGE_BYTES];
    st.copy_from_slice(&d[header..header + STORAGE_BYTES]);
    if d[0] == TAG_AFTER_SWAP {
        after_swap(d, &mut st);
    } else {
        epoch_boundary(d, &mut st);
    }
    unsafe { std::ptr::copy(st.as_ptr(), storage, STORAGE_BYTES) };
}

/// prop-amm gym's extension (spec §3.5): declares that the quote is constant product with the fee
/// on the input, and writes the side-0 and side-1 fees (fractions) for `storage` (1024 bytes) to
/// `out` (two f64). The engine then prices the pool in closed form, as it does the JS export.
#[no_mangle]
pub extern "C" fn __prop_amm_constant_product_fees(storage: *const u8, out: *mut f64) {
    if storage.is_null() || out.is_null() {
        return;
    }
    let mut st: Storage = [0u8; STORAGE_BYTES];
    st.copy_from_slice(unsafe { std::slice::from_raw_parts(storage, STORAGE_BYTES) });
    unsafe {
        std::ptr::write_unaligned(out, current_fee(&st, 0));
        std::ptr::write_unaligned(out.add(1), current_fee(&st, 1));
    }
}

/// prop-amm gym's extension (spec §3.5): called once per simulation before any other call, with
/// the number of strategies (pools before the normalizer) and this pool's index. The reference
/// engine does not call it; the baked N_STRATEGIES then stands.
#[no_mangle]
pub extern "C" fn __prop_amm_init(n_strategies: u32, _strategy_index: u32) {
    use std::sync::atomic::Ordering;
    if n_strategies == 0 {
        return;
    }
    if N_TOLD.swap(n_strategies as u64, Ordering::AcqRel) != n_strategies as u64 {
        RESET_READY.store(false, Ordering::Release);
    }
}

/// Writes the strategy's name (UTF-8, truncated to max_len bytes); returns the bytes written.
#[no_mangle]
pub extern "C" fn __prop_amm_get_name(buf: *mut u8, max_len: usize) -> usize {
    if buf.is_null() {
        return 0;
    }
    let name = NAME.as_bytes();
    let n = name.len().min(max_len);
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr(), buf, n) };
    n
}
