"""Minutes and monthly reports (python-docx), the meeting register, filing deadlines, compliance status."""
