from decimal import Decimal


def format_hours(value):
    """8.00 as "8", 7.50 as "7.5": hours as people write them."""
    return f"{Decimal(value).normalize():f}"
