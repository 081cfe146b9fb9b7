"""The receivables a statement is matched against, held in memory for one matching run.

Matching a statement asks the same questions thousands of times (which invoice is numbered
"F-1023"? who owns reference 0000427? which invoices have a balance of 1,250.00?), so the tenant's
open invoices in the statement's currency are read once, with two queries, into flat arrays
(``array('q')``: 8 bytes a number, not a Python object per invoice), sorted by customer and due
date so a customer's invoices are one contiguous slice. Indexes nobody asks for (balances, name
tokens) are built on first use. A million invoices take a few hundred megabytes at most.

Balances shrink as lines take them (:meth:`Book.take`): the second of two lines paying one
invoice sees what the first left. Nothing here writes to the database.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from recaudo.core.billing.statement import OPEN_STATUSES
from recaudo.core.common.money import check_currency
from recaudo.core.db import engine
from recaudo.core.platform.values import OpenItem
from recaudo.tenants.scoped import TenantScope

#: Characters people and OCR confuse in invoice numbers: compared as the same character.
CONFUSABLE = str.maketrans({"O": "0", "Q": "0", "I": "1", "L": "1"})
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
#: Accented letters of Spanish and Portuguese names, for the SQL that reads them plain.
_ACCENTED = "ÁÉÍÓÚÜÑÀÈÌÒÙÂÊÎÔÛÃÕÇáéíóúüñàèìòùâêîôûãõç"
_UNACCENTED = "AEIOUUNAEIOUAEIOUAOCAEIOUUNAEIOUAEIOUAOC"
#: Company forms left out when comparing names ("ACME SA DE CV" is "Acme").
COMPANY_FORMS = frozenset(
    "SA DE CV SAPI SAB S DE RL RL SC AC SAS LTDA LTD SRL SPA CIA Y INC LLC CORP CO EU".split()
)
#: Most answers a lookup returns: more would be a guess, not a proposal.
MAX_ANSWERS = 25
#: A name is "like" another from this token_set_ratio on (0..100).
NAME_CUTOFF = 80.0
#: Subsets of a customer's invoices tried for an exact amount (2^n grows fast).
SUBSET_LIMIT = 12
#: Due dates (day numbers) take this many bits of the (balance, due) index.
DUE_BITS = 20
DUE_MASK = (1 << DUE_BITS) - 1
#: Invoices a fee away from an amount scanned at most (more: a common amount, no clue).
NEAR_SCAN = 400
#: Paid invoices whose numbers a book remembers (the most recent ones).
PAID_LIMIT = 200_000


def number_key(text: str) -> str:
    """An invoice number as compared: upper case, separators dropped, O→0, I/L→1."""
    return _NOT_ALNUM.sub("", (text or "").upper()).translate(CONFUSABLE)


def reference_key(text: str) -> str:
    """A bank reference or account as compared: upper case letters and digits only."""
    return _NOT_ALNUM.sub("", (text or "").upper())


def name_tokens(name: str) -> list[str]:
    """A person's or company's name as comparable words: no accents, punctuation or company
    forms (``"Comercializadora Álamo, S.A. de C.V."`` → ``["COMERCIALIZADORA", "ALAMO"]``)."""
    plain = (name or "").upper()
    if not plain.isascii():
        plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    words = _NOT_ALNUM.sub(" ", plain.replace(".", "")).split()  # S.A. -> SA
    kept = [w for w in words if w not in COMPANY_FORMS]
    return kept or words


def normalised_name(name: str) -> str:
    return " ".join(name_tokens(name))


class Book:
    """A tenant's open invoices and customers in one currency (implements ``MatchBook``).

    Build it with :func:`load_book`, or directly from rows in tests:
    ``invoices`` are ``(invoice_id, customer_id, number, balance, due_date)``, ``customers``
    ``(customer_id, name, payment_reference)``, ``accounts`` maps a bank account to the customer
    known to pay from it, ``paid`` are ``(number, customer_id)`` of invoices already paid (so a
    second payment of one is recognised, not "corrected" into its neighbour's number).
    ``presorted``: the invoices already come ordered by customer, due date and id (from SQL),
    with due dates as ordinals.
    """

    def __init__(
        self,
        currency: str,
        invoices: Iterable[Sequence[Any]],
        customers: Iterable[Sequence[Any]] = (),
        accounts: Mapping[str, int] | None = None,
        *,
        paid: Iterable[Sequence[Any]] = (),
        presorted: bool = False,
        fee_tolerance: int = 0,
        date_window_days: int = 15,
    ) -> None:
        self.currency = check_currency(currency)
        self.fee_tolerance = fee_tolerance
        self.date_window_days = date_window_days
        if presorted:  # straight from load_book's SQL: ints, ordinals, keys computed there
            rows = invoices if isinstance(invoices, list) else list(invoices)
            self._ids = array("q", [r[0] for r in rows])
            self._cust = array("q", [r[1] for r in rows])
            keys = [r[5] for r in rows]
            # the number as written only where it differs from its key (rare: less to send)
            self._numbers: list[str] = [r[2] or r[5] for r in rows]
            self._bal = array("q", [r[3] for r in rows])
            self._due = array("l", [r[4] for r in rows])
        else:
            rows = _in_book_order(invoices)
            self._ids = array("q", [int(r[0]) for r in rows])
            self._cust = array("q", [int(r[1]) for r in rows])
            self._numbers = [str(r[2] or "") for r in rows]
            self._bal = array("q", [max(0, int(r[3])) for r in rows])
            self._due = array("l", [_ordinal(r[4]) for r in rows])
            keys = [number_key(k) for k in self._numbers]
        n = len(rows)
        del rows
        self._by_number: dict[str, int | tuple[int, ...]] = dict(zip(keys, range(n), strict=True))
        if len(self._by_number) < n:  # one number on several invoices (rare): keep them all
            for i, key in enumerate(keys):
                known = self._by_number[key]
                if known != i:
                    many = known if isinstance(known, tuple) else (known,)
                    if i not in many:
                        self._by_number[key] = (*many, i)
        self._by_number.pop("", None)
        del keys
        # A customer's invoices are one slice: where each starts.
        # (backwards, so each customer's lowest index is the one that stays; all in C)
        backwards = zip(reversed(self._cust), range(n - 1, -1, -1), strict=True)
        self._first: dict[int, int] = dict(backwards)
        # invoice id -> position, for invoices handed to rules (all a candidate may name);
        # the full index is built only if someone asks about an invoice never handed out.
        self._seen: dict[int, int] = {}
        self._by_id: dict[int, int] | None = None
        self._names: dict[int, str] = {}
        self._references: dict[str, int | None] = {}
        self._plain_names: dict[int, str] = {}  # upper case, no accents or punctuation
        for row in customers:
            cid, name, reference = row[:3]
            self._names[int(cid)] = str(name or "")
            if len(row) > 3:
                self._plain_names[int(cid)] = row[3]
            key = reference_key(str(reference or ""))
            if key:  # a reference two customers share identifies neither
                self._references[key] = None if key in self._references else int(cid)
        self._accounts: dict[str, int | None] = {}
        for account, cid in (accounts or {}).items():
            self.remember_account(account, cid)
        self._paid: dict[str, int] = {}
        for number, cid in paid:
            self._paid.setdefault(number_key(str(number or "")), int(cid))
        self._shapes: dict[str, set[int]] | None = None  # letters of numbers -> their lengths
        self._by_balance: tuple[array[int], array[int]] | None = None
        self._shrunk: list[tuple[int, int]] = []  # (balance, index) of invoices partly taken
        self._name_index: dict[str, list[int]] | None = None
        self._name_keys: dict[int, str] = {}

    # --- sizes and items ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def _item(self, i: int) -> OpenItem:
        due = self._due[i]
        self._seen[self._ids[i]] = i
        return OpenItem(
            invoice_id=self._ids[i],
            customer_id=self._cust[i],
            number=self._numbers[i],
            balance=self._bal[i],
            currency=self.currency,
            due_date=date.fromordinal(due) if due else None,
        )

    def _index_of(self, invoice_id: int) -> int | None:
        found = self._seen.get(invoice_id)
        if found is None:
            if self._by_id is None:
                self._by_id = dict(zip(self._ids, range(len(self._ids)), strict=True))
            found = self._by_id.get(invoice_id)
        return found

    def has_customer(self, customer_id: int) -> bool:
        return customer_id in self._names or customer_id in self._first

    def _slice(self, customer_id: int) -> range:
        start = self._first.get(customer_id)
        if start is None:
            return range(0)
        end = start
        while end < len(self._cust) and self._cust[end] == customer_id:
            end += 1
        return range(start, end)

    def item(self, invoice_id: int) -> OpenItem | None:
        """The invoice as it stands in this run (``None`` when it was never open here)."""
        i = self._index_of(invoice_id)
        return None if i is None else self._item(i)

    def balance(self, invoice_id: int) -> int:
        i = self._index_of(invoice_id)
        return 0 if i is None else self._bal[i]

    def customer_of(self, invoice_id: int) -> int | None:
        i = self._index_of(invoice_id)
        return None if i is None else self._cust[i]

    # --- MatchBook -----------------------------------------------------------------------------

    def _indexes_numbered(self, key: str) -> tuple[int, ...]:
        found = self._by_number.get(key)
        if found is None:
            return ()
        return found if isinstance(found, tuple) else (found,)

    def invoices_numbered(self, text: str) -> list[OpenItem]:
        return [self._item(i) for i in self._indexes_numbered(number_key(text)) if self._bal[i] > 0]

    def invoices_like(
        self, text: str, amount: int | None = None, limit: int = 4 * MAX_ANSWERS
    ) -> list[tuple[OpenItem, float]]:
        key = number_key(text)
        if len(key) < 3:
            return []
        variants = self._variants(key)
        if variants is None:
            return []
        low, high = (amount, amount + self.fee_tolerance) if amount is not None else (1, 2**62)
        seen: set[int] = set(self._indexes_numbered(key))
        found: list[tuple[OpenItem, float]] = []
        lookup = self._by_number.get
        balances = self._bal
        for variant in variants:
            hit = lookup(variant)
            if hit is None:
                continue
            for i in hit if isinstance(hit, tuple) else (hit,):
                if i not in seen and low <= balances[i] <= high:
                    seen.add(i)
                    found.append((self._item(i), 1.0 - 1.0 / max(len(key), len(variant))))
            if len(found) >= limit:
                break
        return found

    def _variants(self, key: str) -> Iterable[str] | None:
        """The one-edit variants of ``key`` that could be a number of this book: only the
        digit edits when its letters are those of some numbers (``F`` of ``F1000123``), and
        only lengths some numbers have; ``None`` when no number is one edit away in shape."""
        if self._shapes is None:
            shapes: dict[str, set[int]] = {}
            keys = list(self._by_number)
            letters = _DIGITS_RE.sub("", "\n".join(keys)).split("\n")  # one pass, in C
            for known, only in zip(keys, letters, strict=True):
                shapes.setdefault(only, set()).add(len(known))
            self._shapes = shapes
        n = len(key)
        shape = _DIGITS_RE.sub("", key)
        lengths = self._shapes.get(shape)
        if lengths is not None:
            return _digit_edits(key, n - 1 in lengths, n in lengths, n + 1 in lengths)
        for other, sizes in self._shapes.items():
            if abs(len(other) - len(shape)) <= 1 and n + len(other) - len(shape) in sizes:
                if Levenshtein.distance(other, shape, score_cutoff=1) <= 1:
                    return _one_edit(key)
        return None

    def invoices_of(self, customer_id: int) -> list[OpenItem]:
        return [self._item(i) for i in self._slice(customer_id) if self._bal[i] > 0]

    def invoices_with_balance(
        self, amount: int, around: date | None = None, days: int = 0, limit: int = MAX_ANSWERS
    ) -> list[OpenItem]:
        if amount <= 0:
            return []
        if self._by_balance is None:
            self._index_balances()
        keys, order = self._by_balance  # type: ignore[misc]
        first = max(0, around.toordinal() - days) if around else 0
        last = min(DUE_MASK, around.toordinal() + days) if around else DUE_MASK
        low, high = amount, amount + self.fee_tolerance
        picked: list[int] = []
        # Exactly the amount, due in the window: one slice of the (balance, due) index.
        lo = bisect_left(keys, amount << DUE_BITS | first)
        hi = bisect_right(keys, amount << DUE_BITS | last)
        picked += [order[p] for p in range(lo, min(hi, lo + 4 * MAX_ANSWERS))]
        if high > low:  # a fee short of the balance: worth scanning only when not common
            lo = bisect_left(keys, (low + 1) << DUE_BITS)
            hi = bisect_right(keys, high << DUE_BITS | DUE_MASK)
            if hi - lo <= NEAR_SCAN:
                picked += [order[p] for p in range(lo, hi) if first <= keys[p] & DUE_MASK <= last]
        at = bisect_left(self._shrunk, (low, -1))
        while at < len(self._shrunk) and self._shrunk[at][0] <= high:
            picked.append(self._shrunk[at][1])
            at += 1
        out: list[OpenItem] = []
        seen: set[int] = set()
        for i in picked:
            if i in seen or not (low <= self._bal[i] <= high):
                continue  # an earlier line of this run took part of it
            seen.add(i)
            if around is not None and not (self._due[i] and first <= self._due[i] <= last):
                continue
            out.append(self._item(i))
            if len(out) > limit:
                break
        out.sort(key=lambda item: (item.balance != amount, item.due_date or date.min))
        return out

    def _index_balances(self) -> None:
        """(balance, due) of every invoice as one sortable number, and who is where."""
        due = self._due
        composite = array(
            "q", [b << DUE_BITS | min(d, DUE_MASK) for b, d in zip(self._bal, due, strict=True)]
        )
        order = array("q", sorted(range(len(composite)), key=composite.__getitem__))
        self._by_balance = (array("q", [composite[i] for i in order]), order)

    def customer_of_paid_invoice(self, text: str) -> int | None:
        key = number_key(text)
        cid = self._paid.get(key)
        if cid is None:
            closed = [i for i in self._indexes_numbered(key) if self._bal[i] <= 0]
            cid = self._cust[closed[0]] if closed else None
        return cid

    def customer_for_reference(self, reference: str) -> int | None:
        if not self._references:  # most tenants store none: every line asks, answer fast
            return None
        return self._references.get(reference_key(reference))

    def customer_for_account(self, account: str) -> int | None:
        key = reference_key(account)
        return self._accounts.get(key) if len(key) >= 8 else None

    def customer_name(self, customer_id: int) -> str:
        return self._names.get(customer_id, "")

    def customers_named(self, name: str) -> list[tuple[int, float]]:
        tokens = name_tokens(name)
        if not tokens:
            return []
        if self._name_index is None:
            self._build_name_index()
        index = self._name_index
        assert index is not None
        # Customers sharing the two rarest words of the name (one word: that word's, if rare).
        lists = sorted((index.get(t, ()) for t in set(tokens)), key=len)
        lists = [found for found in lists if found]
        if not lists:
            return []
        if len(lists) == 1 or len(lists[0]) <= 20:
            pool: set[int] = set(lists[0][:200])
        else:
            pool = set(lists[0]).intersection(lists[1])
        wanted = " ".join(tokens)
        scored = []
        for cid in pool:
            theirs = self._name_keys[cid]
            score = fuzz.token_set_ratio(wanted, theirs)
            if score >= NAME_CUTOFF:
                # a name contained in a longer one scores 100: temper it by the whole comparison
                score = score * (0.9 + 0.1 * fuzz.ratio(wanted, theirs) / 100)
                scored.append((cid, score / 100))
        scored.sort(key=lambda s: (-s[1], s[0]))
        return scored[:10]

    def _build_name_index(self) -> None:
        index: dict[str, list[int]] = {}
        plain = self._plain_names
        for cid, name in self._names.items():
            words = plain[cid].split() if cid in plain else name_tokens(name)
            key = " ".join([w for w in words if w not in COMPANY_FORMS] or words)
            self._name_keys[cid] = key
            for token in set(key.split()):
                index.setdefault(token, []).append(cid)
        self._name_index = index

    def allocate(
        self, customer_id: int, amount: int, invoice_ids: Sequence[int] = ()
    ) -> tuple[tuple[tuple[int, int], ...], str]:
        if invoice_ids:
            picked = [self._index_of(int(v)) for v in invoice_ids]
            idx = [i for i in dict.fromkeys(p for p in picked if p is not None) if self._bal[i] > 0]
            idx = [i for i in idx if self._cust[i] == customer_id]
        else:
            idx = [i for i in self._slice(customer_id) if self._bal[i] > 0]
        if not idx or amount <= 0:
            return (), "none"
        balances = [self._bal[i] for i in idx]
        subset = _exact_subset(balances, amount, self.fee_tolerance)
        if subset is not None:
            total = sum(balances[k] for k in subset)
            allocs = tuple((self._ids[idx[k]], balances[k]) for k in subset)
            return allocs, "exact" if total == amount else "fee"
        allocs_list: list[tuple[int, int]] = []
        left = amount
        for i, bal in zip(idx, balances, strict=True):
            if left <= 0:
                break
            take = min(bal, left)
            allocs_list.append((self._ids[i], take))
            left -= take
        return tuple(allocs_list), "over" if left > 0 else "partial"

    # --- changes during a run -----------------------------------------------------------------

    def take(self, allocations: Sequence[tuple[int, int]]) -> None:
        """Lower balances by what a matched line applies (never below zero)."""
        for invoice_id, amount in allocations:
            i = self._index_of(int(invoice_id))
            if i is None or amount <= 0:
                continue
            left = max(0, self._bal[i] - int(amount))
            self._bal[i] = left
            if left > 0:
                insort(self._shrunk, (left, i))

    def remember_account(self, account: str, customer_id: int) -> None:
        """``customer_id`` paid from ``account``: later lines from it point to them (an account
        two customers paid from points to neither)."""
        key = reference_key(account)
        if len(key) < 8:
            return
        known = self._accounts.get(key, customer_id)
        self._accounts[key] = customer_id if known == customer_id else None


def _in_book_order(rows: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    return sorted(rows, key=lambda r: (int(r[1]), _ordinal(r[4]), int(r[0])))


def _ordinal(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10]).toordinal()
    return 0


_DIGITS = "0123456789"
_DIGITS_RE = re.compile(r"[0-9]+")
_LETTERS = "ABCDEFGHJKMNPRSTUVWXYZ"  # after CONFUSABLE: no O, Q, I, L


def _digit_edits(key: str, shorter: bool, same: bool, longer: bool) -> Iterable[str]:
    """One-digit typos of ``key`` of the lengths asked for: swapped neighbours and a wrong
    digit (same length), a dropped digit (shorter), an extra one (longer)."""
    n = len(key)
    digit = [c.isdigit() for c in key]
    if same:
        for k in range(n - 1):
            if key[k] != key[k + 1] and digit[k] and digit[k + 1]:
                yield key[:k] + key[k + 1] + key[k] + key[k + 2 :]
        for k in range(n):
            if digit[k]:
                head, tail, own = key[:k], key[k + 1 :], key[k]
                for c in _DIGITS:
                    if c != own:
                        yield head + c + tail
    if shorter:
        for k in range(n):
            if digit[k] and (k == 0 or key[k] != key[k - 1]):
                yield key[:k] + key[k + 1 :]
    if longer:
        for k in range(n + 1):
            if (k > 0 and digit[k - 1]) or (k < n and digit[k]):
                head, tail = key[:k], key[k:]
                for c in _DIGITS:
                    yield head + c + tail


def _one_edit(key: str) -> Iterable[str]:
    """Every string one edit from ``key``: a swapped pair, a dropped, wrong or extra character
    (digits where digits stand, letters where letters do)."""
    n = len(key)
    for k in range(n - 1):
        if key[k] != key[k + 1]:
            yield key[:k] + key[k + 1] + key[k] + key[k + 2 :]
    for k in range(n):
        yield key[:k] + key[k + 1 :]
    for k in range(n):
        alphabet = _DIGITS if key[k].isdigit() else _LETTERS
        for c in alphabet:
            if c != key[k]:
                yield key[:k] + c + key[k + 1 :]
    for k in range(n + 1):
        near = key[k - 1 : k] + key[k : k + 1]
        alphabet = _DIGITS if any(c.isdigit() for c in near) or not near else _LETTERS
        for c in alphabet:
            yield key[:k] + c + key[k:]


def _exact_subset(balances: Sequence[int], amount: int, tolerance: int) -> tuple[int, ...] | None:
    """Which whole balances pay ``amount`` (their sum in ``[amount, amount + tolerance]``):
    one invoice, else the oldest ones in a row, else any small set (fewest, oldest first)."""
    for k, bal in enumerate(balances):
        if amount <= bal <= amount + tolerance:
            return (k,)
    running = 0
    for k, bal in enumerate(balances):
        running += bal
        if amount <= running <= amount + tolerance:
            return tuple(range(k + 1))
        if running > amount + tolerance:
            break
    n = min(len(balances), SUBSET_LIMIT)
    best: tuple[int, ...] | None = None
    for mask in range(1, 1 << n):
        total = 0
        for k in range(n):
            if mask >> k & 1:
                total += balances[k]
        if amount <= total <= amount + tolerance:
            chosen = tuple(k for k in range(n) if mask >> k & 1)
            if best is None or (len(chosen), chosen) < (len(best), best):
                best = chosen
    return best


async def load_book(
    scope: TenantScope,
    currency: str,
    *,
    accounts: Mapping[str, int] | None = None,
    paid_limit: int = PAID_LIMIT,
    fee_tolerance: int = 0,
    date_window_days: int = 15,
) -> Book:
    """The tenant's open invoices in ``currency`` and its customers, in two queries.

    ``accounts`` (bank account → customer) are accounts customers paid from before, as the
    caller knows them from earlier statements. The numbers of the ``paid_limit`` most recent paid
    invoices are kept too: a customer paying one again is told apart from a typo.
    """
    code = check_currency(currency)
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)  # constants, not input
    postgres = engine().engine_type in ("postgres", "cockroach")
    # Due dates as day numbers (date.toordinal) and rows in book order: no per-row work in Python.
    ordinal = (
        "COALESCE(due_date - DATE '0001-01-01' + 1, 0)"
        if postgres
        else "COALESCE(CAST(julianday(due_date) - 1721424.5 AS INTEGER), 0)"
    )
    # number_key() in SQL where the database can (PostgreSQL): the same result, in C.
    key = (
        "translate(regexp_replace(upper(number), '[^0-9A-Z]', '', 'g'), 'OQIL', '0011')"
        if postgres
        else "number"
    )
    written = f"NULLIF(number, {key})" if postgres else "number"
    invoices = await scope.raw_rows(
        f"SELECT id, customer, {written} AS number, total - amount_applied AS balance, "
        f"{ordinal} AS due, {key} AS number_key FROM invoice "
        f"WHERE tenant = {{tenant}} AND currency = {{}} AND status IN ({statuses}) "
        "AND total > amount_applied ORDER BY customer, due_date, id",
        code,
    )
    if not postgres:
        invoices = [(*row[:5], number_key(str(row[5] or ""))) for row in invoices]
    paid = await scope.raw_rows(
        "SELECT number, customer FROM invoice WHERE tenant = {tenant} AND currency = {} "
        f"AND (status NOT IN ({statuses}) OR total <= amount_applied) ORDER BY id DESC LIMIT {{}}",
        code,
        max(0, int(paid_limit)),
    )
    # name_tokens() but company forms, in SQL where the database can (PostgreSQL).
    plain = (
        f", regexp_replace(translate(upper(replace(name, '.', '')), '{_ACCENTED}', "
        f"'{_UNACCENTED}'), '[^A-Z0-9]+', ' ', 'g') AS plain"
        if postgres
        else ""
    )
    customers = await scope.raw_rows(
        f"SELECT id, name, payment_reference{plain} FROM customer WHERE tenant = {{tenant}}"
    )
    return Book(
        code,
        invoices,
        customers,
        accounts,
        paid=paid,
        presorted=True,
        fee_tolerance=fee_tolerance,
        date_window_days=date_window_days,
    )
