"""Loans: loan maths, loans, repayments, delinquency, collections, hardship."""
