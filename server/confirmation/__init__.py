"""Judicial confirmation: the joint application, the court queue, deadlines, the ruling."""
