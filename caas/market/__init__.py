"""Market: providers' lending criteria, listings (the anonymised view of an application open for
offers), bids, and the borrower's acceptance of one of them into a loan."""
