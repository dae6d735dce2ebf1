"""The leads pipeline: a CSV from Slack, checked row by row, uploaded to the dialer in batches.

    slack_file   files.info + download with the bot token, streamed (a ``LeadSource``)
    reader       bytes -> text (UTF-8, BOM, UTF-16, cp1252) -> CSV records, never the whole file
    columns      which header column is a phone number, a name, an account…
    validation   one record -> an accepted row (E.164 numbers) or a rejected row with its reason
    numbers      a number's E.164 form if valid, exactly as phonenumbers decides, with less of
                 its work repeated
    parallel     the checks spread over worker processes for a big file
    scan         the two passes over a source: ``validate_leads`` (summary + rejected rows CSV)
                 and ``accepted_contacts`` (numbered contacts for the upload)
    upload       batches to the dialer, paced, retried, with durable progress in Redis
    progress     the reporter protocol and the text a person reads

Both passes read the same source with the same rules, so a contact's number ``n`` in
``<campaign ref>-<n>`` is the same every time; that is what lets an interrupted upload resume.
"""
