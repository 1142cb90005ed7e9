"""Pricing: the bundled price book, LiteLLM-format updates, exact costs and the org discount."""

from .book import ModelPrice, PriceBook, Rates, cost_micros
from .discount import Discount
from .files import load_price_book

__all__ = ["Discount", "ModelPrice", "PriceBook", "Rates", "cost_micros", "load_price_book"]
