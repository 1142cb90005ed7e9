"""tokenpulse: see, price and govern what an engineering organisation spends on AI coding tools."""

__version__ = "0.1.0"
