"""The inline prospect block and campaign the lemlist and Smartlead target tests build their projects on."""

PROSPECT = """
prospect {
  email: email required
  first_name: text required
  last_name: text
  company: text required
  title: text
  phone: phone
  linkedin_url: url
  timezone: timezone
  funding_days_ago: int
}
"""

CAMPAIGN = """
campaign launch {
  start 2027-01-05
  enroll 12 per day
  sender {
    from "Dana Reyes <dana@mail.example.com>"
    mailboxes 3
    daily_limit 30
  }
}
"""
