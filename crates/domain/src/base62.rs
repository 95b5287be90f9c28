//! Base62 (`0-9A-Za-z`) encoding shared by ids and API keys.
//!
//! The alphabet is in ASCII order, so fixed-width encodings sort like the numbers they
//! encode; that keeps UUIDv7-based ids time-sortable as plain strings.

/// The base62 alphabet, in ASCII order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Width of a `u128` in base62 (62^22 > 2^128).
pub const U128_WIDTH: usize = 22;

/// The value of one base62 digit, or `None` for any other byte.
pub fn digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'Z' => Some(b - b'A' + 10),
        b'a'..=b'z' => Some(b - b'a' + 36),
        _ => None,
    }
}

/// Encodes `value` in exactly `width` digits, most significant first, zero-padded.
///
/// Digits beyond `width` are dropped, so callers pick a width that fits their range.
pub fn encode_fixed(value: u128, width: usize) -> String {
    let mut out = vec![b'0'; width];
    encode_into(value, &mut out);
    out.into_iter().map(char::from).collect()
}

/// Writes `value` into `out` in exactly `out.len()` digits, as [`encode_fixed`] does,
/// without allocating: ids are written into responses from a stack buffer.
pub fn encode_into(mut value: u128, out: &mut [u8]) {
    /// 62^10, the most digits a `u64` holds: one 128-bit division per ten digits (the
    /// 64-bit ones by a constant compile to multiplications); ids are encoded on every
    /// item of every list.
    const CHUNK: u128 = 839_299_365_868_340_224;
    for digits in out.rchunks_mut(10) {
        let mut chunk = (value % CHUNK) as u64;
        value /= CHUNK;
        for slot in digits.iter_mut().rev() {
            *slot = ALPHABET[(chunk % 62) as usize];
            chunk /= 62;
        }
    }
}

/// Decodes a base62 string into a `u128`, refusing other bytes and overflow.
pub fn decode(s: &str) -> Option<u128> {
    // Ten digits at a time in a `u64` (62^10 < 2^64), then one checked 128-bit step per
    // ten: every id of every row of every list page is decoded.
    const TEN: u128 = 839_299_365_868_340_224;
    let (mut value, mut chunk, mut len) = (0u128, 0u64, 0u32);
    for &b in s.as_bytes() {
        chunk = chunk * 62 + u64::from(digit(b)?);
        len += 1;
        if len == 10 {
            value = value.checked_mul(TEN)?.checked_add(u128::from(chunk))?;
            (chunk, len) = (0, 0);
        }
    }
    value.checked_mul(62u128.pow(len))?.checked_add(u128::from(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn max_u128_fits_in_the_fixed_width() {
        let s = encode_fixed(u128::MAX, U128_WIDTH);
        assert_eq!(s.len(), U128_WIDTH);
        assert_eq!(decode(&s), Some(u128::MAX));
    }

    #[test]
    fn decode_rejects_foreign_bytes_and_overflow() {
        assert_eq!(decode("ab-c"), None);
        assert_eq!(decode("zzzzzzzzzzzzzzzzzzzzzzzz"), None);
    }

    /// One digit at a time: what `encode_fixed` computes ten digits at a time.
    fn digit_by_digit(mut value: u128, width: usize) -> String {
        let mut out = vec![b'0'; width];
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(value % 62) as usize];
            value /= 62;
        }
        out.into_iter().map(char::from).collect()
    }

    /// One digit at a time: what `decode` computes ten digits at a time.
    fn decode_digit_by_digit(s: &str) -> Option<u128> {
        s.bytes().try_fold(0u128, |acc, b| acc.checked_mul(62)?.checked_add(u128::from(digit(b)?)))
    }

    proptest! {
        #[test]
        fn chunked_decoding_matches_digit_by_digit(s in "[0-9A-Za-z]{0,26}") {
            prop_assert_eq!(decode(&s), decode_digit_by_digit(&s));
        }

        #[test]
        fn chunked_encoding_matches_digit_by_digit_at_every_width(v: u128, width in 0usize..=30) {
            prop_assert_eq!(encode_fixed(v, width), digit_by_digit(v, width));
        }

        #[test]
        fn fixed_encoding_round_trips_and_preserves_order(a: u128, b: u128) {
            let (ea, eb) = (encode_fixed(a, U128_WIDTH), encode_fixed(b, U128_WIDTH));
            prop_assert_eq!(decode(&ea), Some(a));
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        }
    }
}
