"""AiiDA plugin for the computational discovery of lithium thiophosphate (Li2S-P2S5) solid electrolytes."""

__version__ = "0.1.0"
