"""The maternal death report card (孕产妇死亡报告卡): deaths the monitoring group enters, and
its review (confirm or exclude, with a reason) of every maternal death, fed or entered.

The indicator engine reads the cards and the reviews (``indicators/loaders.py``): a death
counts when it is maternal by its cause rule and not excluded by review; an entered death of a
woman a feed already reports counts once (docs/indicator-rules.md, "Maternal death").
"""
