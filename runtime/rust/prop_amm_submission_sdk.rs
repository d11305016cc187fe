//! `prop_amm_submission_sdk`: the helpers a Rust strategy file may import (spec §3.5).
//!
//! prop-amm gym compiles this file as a crate of that name and links it into every `.rs`
//! strategy, so a file written against the reference challenge's SDK builds unchanged:
//!
//! ```ignore
//! use prop_amm_submission_sdk::{AfterSwapContext, EpochContext, Storage, SwapContext, ...};
//! pub const NAME: &str = "My Strategy";
//! pub fn compute_swap(ctx: &SwapContext) -> u64 { ... }
//! pub fn after_swap(ctx: &AfterSwapContext, storage: &mut Storage) { ... }   // optional
//! pub fn on_epoch_boundary(ctx: &EpochContext, storage: &mut Storage) { ... } // optional
//! ```
//!
//! A file in that form gets the native exports (`__prop_amm_compute_swap`,
//! `__prop_amm_after_swap`, `__prop_amm_get_name`) from a shim the compiler step appends, built
//! on `ffi_compute_swap` / `ffi_after_swap` below. A file that writes the exports itself needs
//! nothing from here. Byte layouts: spec §3.4 (little-endian, amounts in nano = 1e-9 units).
//! Storage slot k is bytes 8k..8k+7, little-endian (spec §3.6). Standard library only.

/// Fees are u64 fractions of WAD: WAD is 100%, 1 bp is 1e14.
pub const WAD: u64 = 1_000_000_000_000_000_000;
/// One basis point in WAD units.
pub const WAD_PER_BPS: u64 = 100_000_000_000_000;
/// The largest fee `clamp_fee` lets through: 10% (1000 bps).
pub const MAX_FEE_WAD: u64 = 1000 * WAD_PER_BPS;
/// Amounts on the wire are integers of 1e-9 units.
pub const NANO: u64 = 1_000_000_000;
pub const STORAGE_SIZE: usize = 1024;

pub const TAG_AFTER_SWAP: u8 = 2;
pub const TAG_EPOCH_BOUNDARY: u8 = 5;
pub const COMPUTE_SWAP_HEADER: usize = 25;
pub const AFTER_SWAP_HEADER: usize = 92;
pub const EPOCH_HEADER: usize = 41;

/// A pool's 1024 bytes of persistent storage.
pub type Storage = [u8; STORAGE_SIZE];

fn le_u64(d: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[off..off + 8]);
    u64::from_le_bytes(b)
}

fn le_u32(d: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&d[off..off + 4]);
    u32::from_le_bytes(b)
}

fn le_f32(d: &[u8], off: usize) -> f32 {
    f32::from_bits(le_u32(d, off))
}

fn le_f64(d: &[u8], off: usize) -> f64 {
    f64::from_bits(le_u64(d, off))
}

fn storage_at(d: &[u8], off: usize) -> Storage {
    let mut s = [0u8; STORAGE_SIZE];
    s.copy_from_slice(&d[off..off + STORAGE_SIZE]);
    s
}

/// A quote request (compute-swap payload, no tag).
pub struct SwapContext {
    /// 0: the trader pays Y and receives X; 1: pays X, receives Y.
    pub side: u8,
    /// True on side 0 (the trader buys X).
    pub is_buy: bool,
    pub input_amount: u64,
    pub reserve_x: u64,
    pub reserve_y: u64,
    /// A copy: what a quote writes here is discarded.
    pub storage: Storage,
}

impl SwapContext {
    /// Decodes a compute-swap payload; None when it is short or its side is not 0 or 1.
    pub fn decode(d: &[u8]) -> Option<SwapContext> {
        if d.len() < COMPUTE_SWAP_HEADER + STORAGE_SIZE || d[0] > 1 {
            return None;
        }
        Some(SwapContext {
            side: d[0],
            is_buy: d[0] == 0,
            input_amount: le_u64(d, 1),
            reserve_x: le_u64(d, 9),
            reserve_y: le_u64(d, 17),
            storage: storage_at(d, COMPUTE_SWAP_HEADER),
        })
    }
}

/// A trade on this pool (after-swap payload, tag 2). Reserves are after the trade.
pub struct AfterSwapContext {
    pub side: u8,
    pub is_buy: bool,
    pub input_amount: u64,
    pub output_amount: u64,
    pub reserve_x: u64,
    pub reserve_y: u64,
    pub sim_step: u64,
    pub epoch_step: u32,
    pub epoch_number: u32,
    /// Pools in the simulation, the normalizer included.
    pub n_strategies: u8,
    pub strategy_index: u8,
    /// This pool's share of the retail order's input; 0 for an arbitrage trade.
    pub flow_captured: f32,
    pub capital_weight: f32,
    /// The other pools' spot prices, normalizer last, NaN-padded to 8.
    pub competing_spot_prices: [f32; 8],
}

impl AfterSwapContext {
    pub fn decode(d: &[u8]) -> Option<AfterSwapContext> {
        if d.len() < AFTER_SWAP_HEADER || d[0] != TAG_AFTER_SWAP {
            return None;
        }
        let mut prices = [0f32; 8];
        for (k, p) in prices.iter_mut().enumerate() {
            *p = le_f32(d, 60 + 4 * k);
        }
        Some(AfterSwapContext {
            side: d[1],
            is_buy: d[1] == 0,
            input_amount: le_u64(d, 2),
            output_amount: le_u64(d, 10),
            reserve_x: le_u64(d, 18),
            reserve_y: le_u64(d, 26),
            sim_step: le_u64(d, 34),
            epoch_step: le_u32(d, 42),
            epoch_number: le_u32(d, 46),
            n_strategies: d[50],
            strategy_index: d[51],
            flow_captured: le_f32(d, 52),
            capital_weight: le_f32(d, 56),
            competing_spot_prices: prices,
        })
    }

    /// The pool's spot price (Y per X) after the trade; 0 when reserve X is 0.
    pub fn spot_price(&self) -> f64 {
        if self.reserve_x == 0 {
            return 0.0;
        }
        self.reserve_y as f64 / self.reserve_x as f64
    }
}

/// An epoch boundary (tag 5), after the capital rebalance.
pub struct EpochContext {
    /// The epoch just completed.
    pub epoch_number: u32,
    pub new_reserve_x: u64,
    pub new_reserve_y: u64,
    pub epoch_edge: f64,
    pub cumulative_edge: f64,
    pub capital_weight: f32,
}

impl EpochContext {
    pub fn decode(d: &[u8]) -> Option<EpochContext> {
        if d.len() < EPOCH_HEADER || d[0] != TAG_EPOCH_BOUNDARY {
            return None;
        }
        Some(EpochContext {
            epoch_number: le_u32(d, 1),
            new_reserve_x: le_u64(d, 5),
            new_reserve_y: le_u64(d, 13),
            epoch_edge: le_f64(d, 21),
            cumulative_edge: le_f64(d, 29),
            capital_weight: le_f32(d, 37),
        })
    }
}

/// Storage slot `slot` (bytes 8*slot..8*slot+7) as a u64.
pub fn read_u64(storage: &Storage, slot: usize) -> u64 {
    le_u64(storage, slot * 8)
}

pub fn write_u64(storage: &mut Storage, slot: usize, value: u64) {
    storage[slot * 8..slot * 8 + 8].copy_from_slice(&value.to_le_bytes());
}

/// Storage slot `slot` as an f64 (its IEEE-754 bits, little-endian).
pub fn read_f64(storage: &Storage, slot: usize) -> f64 {
    le_f64(storage, slot * 8)
}

pub fn write_f64(storage: &mut Storage, slot: usize, value: f64) {
    write_u64(storage, slot, value.to_bits());
}

/// Basis points to WAD (1 bp = 1e14); saturates instead of overflowing.
pub fn bps_to_wad(bps: u64) -> u64 {
    bps.saturating_mul(WAD_PER_BPS)
}

/// A fee limited to MAX_FEE_WAD (10%).
pub fn clamp_fee(fee_wad: u64) -> u64 {
    fee_wad.min(MAX_FEE_WAD)
}

/// WAD multiply and divide, rounded down, in u128 (saturating at u64::MAX).
pub fn wmul(a: u64, b: u64) -> u64 {
    let r = (a as u128) * (b as u128) / (WAD as u128);
    r.min(u64::MAX as u128) as u64
}

pub fn wdiv(a: u64, b: u64) -> u64 {
    if b == 0 {
        return 0;
    }
    let r = (a as u128) * (WAD as u128) / (b as u128);
    r.min(u64::MAX as u128) as u64
}

/// Integer square root (floor).
pub fn sqrt(x: u128) -> u128 {
    if x < 2 {
        return x;
    }
    let mut r = (x as f64).sqrt() as u128;
    while r * r > x {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= x {
        r += 1;
    }
    r
}

/// Constant-product output for `input` with a fee on the input (WAD), in u128, rounded down:
/// g = input * (WAD - fee) / WAD, output = reserve_out * g / (reserve_in + g). 0 when the fee
/// is WAD or more, or the pool is empty.
pub fn cpamm_output_wad(input: u64, reserve_in: u64, reserve_out: u64, fee_wad: u64) -> u64 {
    if fee_wad >= WAD {
        return 0;
    }
    let g = (input as u128) * ((WAD - fee_wad) as u128) / (WAD as u128);
    let den = reserve_in as u128 + g;
    if den == 0 {
        return 0;
    }
    ((reserve_out as u128) * g / den) as u64
}

/// In the native ABI a quote's result is the function's return value: identity.
pub fn set_return_data_u64(value: u64) -> u64 {
    value
}

/// Copies a strategy's storage into a hook's output buffer (at most 1024 bytes).
pub fn set_storage(out: &mut [u8], storage: &Storage) {
    let n = out.len().min(STORAGE_SIZE);
    out[..n].copy_from_slice(&storage[..n]);
}

/// `__prop_amm_compute_swap` for a `fn compute_swap(&SwapContext) -> u64`: 0 for a bad payload.
pub fn ffi_compute_swap(data: *const u8, len: usize, f: fn(&SwapContext) -> u64) -> u64 {
    if data.is_null() {
        return 0;
    }
    // The engine hands a payload of `len` readable bytes (spec §3.5).
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    match SwapContext::decode(d) {
        Some(ctx) => f(&ctx),
        None => 0,
    }
}

/// `__prop_amm_after_swap` for the optional hooks: dispatches on the tag, runs the hook on a
/// copy of the payload's storage and writes the result through `storage` (1024 bytes).
pub fn ffi_after_swap(
    data: *const u8,
    len: usize,
    storage: *mut u8,
    after_swap: Option<fn(&AfterSwapContext, &mut Storage)>,
    on_epoch_boundary: Option<fn(&EpochContext, &mut Storage)>,
) {
    if data.is_null() || storage.is_null() || len == 0 {
        return;
    }
    let d = unsafe { std::slice::from_raw_parts(data, len) };
    let mut st: Storage;
    match d[0] {
        TAG_AFTER_SWAP if len >= AFTER_SWAP_HEADER + STORAGE_SIZE => {
            st = storage_at(d, AFTER_SWAP_HEADER);
            if let (Some(f), Some(ctx)) = (after_swap, AfterSwapContext::decode(d)) {
                f(&ctx, &mut st);
            }
        }
        TAG_EPOCH_BOUNDARY if len >= EPOCH_HEADER + STORAGE_SIZE => {
            st = storage_at(d, EPOCH_HEADER);
            if let (Some(f), Some(ctx)) = (on_epoch_boundary, EpochContext::decode(d)) {
                f(&ctx, &mut st);
            }
        }
        _ => return,
    }
    // `storage` may alias the payload's storage bytes: the copy above was taken first.
    unsafe { std::ptr::copy(st.as_ptr(), storage, STORAGE_SIZE) };
}

/// `__prop_amm_get_name`: writes `name` (UTF-8, cut at `max_len` bytes), returns the length.
pub fn ffi_get_name(buf: *mut u8, max_len: usize, name: &str) -> usize {
    if buf.is_null() {
        return 0;
    }
    let n = name.len().min(max_len);
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr(), buf, n) };
    n
}
