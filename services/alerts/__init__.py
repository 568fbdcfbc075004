"""Alerts: subscriptions, the outbox of alerts and deliveries, and the channels that send them."""
