"""A hash table from 64-bit n-gram keys to their positions, built and probed with NumPy.

The featurizer looks up a few hundred thousand n-gram keys per chunk of 500 messages. Binary
search (``np.searchsorted``) over a vocabulary of 100,000+ keys costs about six times as much
as a hash lookup; pandas' index engine hashes well but its import alone (~0.25 s) is paid
before ``jianfu tag`` can start its workers. This table needs only NumPy, is built once (about
20 ms for 130,000 keys) before the workers fork, so they share it, and resolves a whole array
of keys per call.

Open addressing with linear probing at a load factor of at most 1/4; slots come from
Fibonacci hashing (multiply by 2**64 / golden ratio, keep the top bits). Each probe round is a
handful of vectorized operations over the keys not yet resolved; most are resolved in the first.
"""
from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: Marks an empty slot; n-gram keys are below 2**63, so it is never a key.
EMPTY = np.uint64(2**64 - 1)


class KeyTable:
    """Positions of distinct ``keys`` (uint64, none equal to :data:`EMPTY`).

    >>> t = KeyTable(np.array([7, 42, 3], np.uint64))
    >>> t.get(np.array([42, 5, 3, 42], np.uint64)).tolist()
    [1, -1, 2, 1]
    """

    def __init__(self, keys: np.ndarray):
        keys = np.asarray(keys, np.uint64)
        if len(keys) and keys.max() == EMPTY:
            raise ValueError("2**64 - 1 marks empty slots and cannot be a key")
        # a vocabulary arrives sorted, where distinctness is one comparison pass
        ascending = bool((keys[1:] > keys[:-1]).all())
        if not ascending and len(np.unique(keys)) != len(keys):
            raise ValueError("keys must be distinct")
        bits = max(4, (4 * len(keys) - 1).bit_length())  # at least 4 slots per key
        self.shift = np.uint64(64 - bits)
        self.mask = np.uint64((1 << bits) - 1)
        self.slot_keys = np.full(1 << bits, EMPTY, np.uint64)
        self.slot_pos = np.full(1 << bits, -1, np.int32 if len(keys) < 2**31 else np.int64)
        pending = np.arange(len(keys), dtype=np.int64)
        slot = self._slots(keys)
        while len(pending):
            s = slot[pending]
            free = self.slot_keys[s] == EMPTY
            # one key per free slot (the first that wants it); the others probe the next slot
            taken, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.slot_keys[taken] = keys[winners]
            self.slot_pos[taken] = winners
            placed = np.zeros(len(pending), bool)
            placed[np.flatnonzero(free)[first]] = True
            pending = pending[~placed]
            slot[pending] = (slot[pending] + np.uint64(1)) & self.mask

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return (keys * _GOLDEN) >> self.shift

    def __len__(self) -> int:
        return int((self.slot_keys != EMPTY).sum())

    def get(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key in the array the table was built from, -1 where absent."""
        keys = np.asarray(keys, np.uint64)
        slot = self._slots(keys)
        found = self.slot_keys[slot]
        hit = found == keys
        pos = np.where(hit, self.slot_pos[slot], -1).astype(np.int64)
        rest = np.flatnonzero(~hit & (found != EMPTY))
        while len(rest):  # collisions: probe the next slot until the key or an empty slot
            s = (slot[rest] + np.uint64(1)) & self.mask
            slot[rest] = s
            found = self.slot_keys[s]
            hit = found == keys[rest]
            pos[rest[hit]] = self.slot_pos[s[hit]]
            rest = rest[~hit & (found != EMPTY)]
        return pos
