"""The record: the anonymous scenario log, its rows, and the dashboard's figures."""
