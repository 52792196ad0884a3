"""The ledger: the platform's own double-entry books.

Tenancy. The ledger records the platform's position: money it holds for providers, what borrowers
owe on loans it services, what sits at each gateway, what clients owe it in fees. One movement
regularly touches several parties at once (a disbursement moves a *provider's* money to a
*client's* borrower through a *gateway*), so an entry cannot belong to one tenant, and an entry
split across tenants under row-level security could not be checked as balanced by the database.
Hence, by decision:
- ledger tables have no ``client_id`` and no RLS; they are platform tables like ``providers``;
- an account names its owner by ``owner_type`` (provider, loan, client, gateway, platform) and
  ``owner_id``, unique with its kind and currency;
- tenant-facing views (a provider's funds, a client's invoices) never query these tables
  directly; they call owner-filtered operations (``accounts_of``, ``provider_funds``,
  ``statement`` after checking the viewer owns the account), whose callers have already
  authorised the viewer for that owner. Whole-ledger reports (``trial_balance``) are for
  platform admins only.

Invariants, each enforced in code and again by the database (migration 0100):
- amounts are BIGINT minor units with an ISO currency; a line's currency is its account's;
- an entry has two or more lines and balances per currency (deferred constraint trigger);
- entries and lines are append-only (triggers; UPDATE/DELETE revoked); corrections are reversals;
- each entry has a unique idempotency key: the same business event posted twice is one entry;
- balances are maintained in ``ledger_balances`` in the posting transaction, under row locks taken
  in account-id order; provider available/reserved funds and borrower payout clearing never go
  negative (checked in code, and by a CHECK constraint).
"""
from caas.ledger.errors import IdempotencyConflict, InsufficientFunds, LedgerError, UnbalancedEntry
from caas.ledger.models import KINDS, Account, AccountBalance, AccountKind, JournalEntry, JournalLine, OwnerType, Side
from caas.ledger.operations import (OwnedAccount, ProviderFunds, StatementLine, accounts_of, balance, balance_of,
                                    begin_disbursement, fund_provider, provider_funds, release_reservation, reserve,
                                    settle_payout, statement)
from caas.ledger.posting import (AccountKey, Line, Posted, account_key, credit, debit, entry_by_key, get_account,
                                 post, post_detailed, reverse)
from caas.ledger.reports import BalanceMismatch, TrialBalance, TrialBalanceLine, trial_balance, verify_balances

__all__ = [
    "KINDS", "Account", "AccountBalance", "AccountKey", "AccountKind", "BalanceMismatch", "IdempotencyConflict",
    "InsufficientFunds", "JournalEntry", "JournalLine", "LedgerError", "Line", "OwnedAccount", "OwnerType", "Posted",
    "ProviderFunds", "Side", "StatementLine", "TrialBalance", "TrialBalanceLine", "UnbalancedEntry", "account_key",
    "accounts_of", "balance", "balance_of", "begin_disbursement", "credit", "debit", "entry_by_key",
    "fund_provider", "get_account", "post", "post_detailed", "provider_funds", "release_reservation", "reserve",
    "reverse", "settle_payout", "statement", "trial_balance", "verify_balances",
]
