"""Imports every model so that metadata (Alembic, relationships) knows them all."""
from caas.audit.models import AuditEntry  # noqa: F401
from caas.events.models import OutboxMessage, WebhookEndpoint  # noqa: F401
from caas.tenancy.models import (ApiKey, Client, CreditPolicy, Invitation, Provider,  # noqa: F401
                                 ProviderAccess, User)
from caas.tenancy.sessions import UserSession  # noqa: F401
from caas.tenancy.two_factor import TwoFactor  # noqa: F401
from caas.credit.models import (Application, ApplicationEvent, BorrowerProfile, Consent, CreditDecision,  # noqa: F401
                                Document, IdempotentResponse, Notification, ReferralReview, ScoringModel)
from caas.credit.identity.models import IdentityVerification  # noqa: F401
from caas.screening.models import SanctionsList  # noqa: F401
from caas.ledger.models import Account, AccountBalance, JournalEntry, JournalLine  # noqa: F401
from caas.events.models import WebhookAttempt, WebhookDelivery  # noqa: F401
from caas.events.models import NotificationMessage, NotificationPreference, SmsMessage  # noqa: F401
from caas.market.models import Bid, LendingCriteria, Listing, ProviderNotification, Signature  # noqa: F401
from caas.loans.models import Loan, LoanInstallment  # noqa: F401
from caas.payments.models import BankAccount, GatewayEvent, Payout, PayoutCall, PayoutEvent  # noqa: F401
from caas.loans.models import (BucketChange, CollectionNote, HardshipRequest, LoanRefund,  # noqa: F401
                               PaymentAuthorization, Repayment)
from caas.billing.models import (BillingRun, Invoice, InvoiceLine, InvoiceSequence, PriceBookEntry,  # noqa: F401
                                 QuotaOverride, QuotaWarning, UsageEvent)
