"""Tenancy: clients (tenants), providers, users and roles."""
