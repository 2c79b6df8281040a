//! Structured input for the targets that build values rather than parse
//! bytes: choices drawn from the fuzzer's bytes with `arbitrary`'s
//! `Unstructured`, each falling back to its first option once the bytes run
//! out, so that every input, however short, is a whole case.

#![allow(dead_code)]

use libfuzzer_sys::arbitrary::Unstructured;

/// The fuzzer's bytes, read as choices.
pub struct Input<'a>(Unstructured<'a>);

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self(Unstructured::new(data))
    }

    /// A number in `0..=max`.
    pub fn below_or(&mut self, max: usize) -> usize {
        self.0.int_in_range(0..=max).unwrap_or(0)
    }

    /// A number in `min..=max`.
    pub fn range(&mut self, min: u64, max: u64) -> u64 {
        self.0.int_in_range(min..=max).unwrap_or(min)
    }

    /// One of `options` (the first once the bytes ran out).
    pub fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below_or(options.len() - 1)]
    }

    /// True about one time in `n`.
    pub fn one_in(&mut self, n: u8) -> bool {
        self.0.ratio(1, n.max(1)).unwrap_or(false)
    }

    pub fn byte(&mut self) -> u8 {
        self.0.arbitrary().unwrap_or(0)
    }

    /// Up to `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below_or(max);
        (0..len).map(|_| self.byte()).collect()
    }

    /// Any character.
    pub fn char(&mut self) -> char {
        self.0.arbitrary().unwrap_or('a')
    }

    /// A text of up to `pieces` pieces, each a character or a piece of
    /// `palette` (what escaping and encoding code gets wrong).
    pub fn text(&mut self, pieces: usize, palette: &[&str]) -> String {
        let count = self.below_or(pieces);
        let mut text = String::new();
        for _ in 0..count {
            if self.one_in(3) {
                text.push(self.char());
            } else {
                text.push_str(self.pick(palette));
            }
        }
        text
    }
}
