"""Credit: borrower profiles, KYC, consents, documents, applications, decisions."""
