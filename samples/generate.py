#!/usr/bin/env python3
"""Generate the Lumen Grid sample project for chatcurate.

Lumen Grid is an invented home-energy company: smart thermostats (Halo, Halo
Pro, Halo Mini), the Lumen Hub, the GridSense energy monitor, smart radiator
valves, the Lumen app, energy tariffs, billing, installation, returns and
warranty.

    python samples/generate.py

rewrites samples/data/*. Stdlib only and seeded: two runs give byte-identical
files. The support file has planted defects; their ids and kinds are listed in
samples/data/MANIFEST.md (human) and samples/data/manifest.json (machine).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 20240611
HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# Clean rows are only accepted when their word-5-gram Jaccard with every
# accepted row stays below this; keeps the "normal" data free of near-dups.
ACCEPT_JACCARD = 0.30

# --------------------------------------------------------------------------
# Shared facts (kept consistent across support, eval and benchmark files)
# --------------------------------------------------------------------------
THERMOS = ["Halo", "Halo Pro", "Halo Mini"]
DEVICES = ["Halo thermostat", "Halo Pro", "Halo Mini", "Lumen Hub", "GridSense monitor",
           "radiator valve", "Lumen Plug"]
ROOMS = ["living room", "hallway", "nursery", "home office", "loft conversion", "kitchen",
         "spare bedroom", "main bedroom", "conservatory", "dining room"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
PHONES = ["iPhone 12", "iPhone 15", "Pixel 7", "Samsung Galaxy S21", "Galaxy A52", "iPad",
          "OnePlus 9", "Moto G", "iPhone SE"]
BOILERS = ["Worcester Bosch combi", "Vaillant ecoTEC", "Ideal Logic", "Baxi 600",
           "Viessmann Vitodens", "Glow-worm Energy", "system boiler with a hot water cylinder"]
TARIFFS = ["Flex Saver", "Fixed 12", "Night Owl EV", "Green Standard"]
NAMES = ["Priya", "Tom", "Gareth", "Aisha", "Marek", "Fiona", "Dev", "Hannah", "Kwame", "Sian",
         "Oliver", "Mei", "Callum", "Rosa", "Imran", "Beth", "Jonas", "Niamh", "Sam", "Yusuf"]
POSTCODES = ["BS7 8QT", "LS6 2DN", "M14 5RP", "CF24 4HJ", "EH10 6LA", "NG7 1FB", "SO17 3AW",
             "B29 7JG", "G12 8TZ", "NR2 4PX", "YO10 3BQ", "EX4 6HD"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
CARRIERS = ["DPD", "Royal Mail Tracked 48", "Evri", "DHL Parcel"]


def make_params(rng: random.Random) -> dict:
    amt = rng.uniform(38, 265)
    return {
        "thermo": rng.choice(THERMOS),
        "device": rng.choice(DEVICES),
        "room": rng.choice(ROOMS),
        "room2": rng.choice(ROOMS[::-1]),
        "month": rng.choice(MONTHS),
        "amount": f"£{amt:.2f}",
        "usual": f"£{amt * rng.uniform(0.45, 0.7):.2f}",
        "small": f"£{rng.uniform(4, 39):.2f}",
        "order": f"LG-{rng.randint(10000, 19999)}",
        "acct": f"A-{rng.randint(200000, 299999)}",
        "temp": rng.randint(17, 21),
        "temp2": rng.randint(22, 25),
        "firmware": f"4.{rng.randint(0, 3)}.{rng.randint(1, 9)}",
        "phone": rng.choice(PHONES),
        "boiler": rng.choice(BOILERS),
        "tariff": rng.choice(TARIFFS),
        "days": rng.randint(3, 12),
        "weeks": rng.randint(2, 6),
        "kwh": rng.randrange(1800, 5400, 50),
        "postcode": rng.choice(POSTCODES),
        "day": rng.choice(DAYS),
        "date": f"{rng.randint(2, 27)} {rng.choice(MONTHS)}",
        "name": rng.choice(NAMES),
        "serial": f"HL{rng.randint(1000, 9999)}-{rng.choice('ABCDEFGHJK')}{rng.randint(100, 999)}",
        "minutes": rng.choice([30, 60, 120]),
        "years": rng.randint(2, 6),
        "pct": rng.randint(8, 35),
        "carrier": rng.choice(CARRIERS),
    }


# --------------------------------------------------------------------------
# Support topics. q: customer question templates; s: answer sentences/steps
# (a sorted subset is used, so order matters); f: follow-up exchanges;
# kind: "problem" or "info" (picks the opener); steps: may render as a list.
# --------------------------------------------------------------------------
def T(name, kind, q, s, f=(), steps=False):
    return {"name": name, "kind": kind, "q": q, "s": s, "f": list(f), "steps": steps}


TOPICS = [
    # ---------------------------------------------------------------- billing
    T("bill_higher", "problem", [
        "My {month} bill came to {amount}, which is a lot more than the {usual} I normally pay. Can you explain why?",
        "Why has my energy bill jumped to {amount} this month? Nothing has changed in the house as far as I know.",
        "I just opened my statement and it says {amount}. That can't be right for a two-bed flat, can it?",
        "Is there a reason my latest bill is nearly double? Last quarter was about {usual}.",
    ], [
        "The most common reason for a jump like this is that the previous bills were based on estimated readings and this one used an actual reading, so it is catching up on energy you had already used.",
        "Colder weather makes a real difference too: heating is usually the biggest part of a winter bill, and a few chilly weeks can add a lot.",
        "Open the Energy tab in the Lumen app and switch to the monthly view, which shows your daily usage in kWh so you can spot the days that pushed the total up.",
        "If you changed tariff recently, check the unit rate on page two of the statement, since the new rate applies from the switch date rather than the start of the month.",
        "Submit a meter reading from Account > Meter readings and we will rebill using real figures within two working days.",
        "If the numbers still look wrong after that, reply with your account number and we will ask a billing specialist to review the statement line by line.",
    ], [
        ("How do I know if my readings were estimated?", "Each reading on your statement has a letter next to it: A means actual, E means estimated and C means customer-supplied. In the app, estimated readings also show a small grey 'est.' label in Account > Meter readings."),
        ("Can I pay the difference in instalments?", "Yes. If the catch-up amount is more than £50 we can spread it over up to six months on top of your usual direct debit. Ask in chat or call us and we will set it up without a credit check."),
    ]),
    T("estimated_reading", "info", [
        "My bill says the reading was estimated. How do I give you a real one?",
        "Why are you estimating my meter readings when I have a smart meter?",
        "Where in the app do I submit a meter reading? The last {days} bills all said 'estimated'.",
    ], [
        "You can submit a reading in the Lumen app under Account > Meter readings, or on the website after logging in.",
        "Enter the numbers shown on the meter from left to right, ignoring anything after a decimal point or in red.",
        "You can also attach a photo of the meter display, which helps us if the figures look unusual.",
        "If you have a smart meter, estimates usually mean it has stopped sending readings, often after a supplier switch or a communications hub fault.",
        "Once a reading is in, the next bill uses it automatically, and you can ask us to reissue the current bill with the real figure.",
        "For smart meters that keep dropping off, we can book a free visit to check the communications hub.",
    ], [
        ("The smart meter display says 'no signal'. Is that the issue?", "Very likely. 'No signal' means the in-home display can't talk to the communications hub, and often the hub can't reach us either. Send us a photo of the display and we will check remotely first before booking an engineer."),
    ]),
    T("direct_debit_change", "info", [
        "Can I change the date my direct debit comes out? The {days}th doesn't line up with payday anymore.",
        "How do I lower my monthly direct debit? I'm in credit by {small}.",
        "I want to change my direct debit amount from {amount} to something smaller, is that possible?",
        "Is it possible to move my monthly payment to a different bank account?",
    ], [
        "You can change your payment date to any day between the 1st and the 28th in the app under Account > Payments > Direct Debit.",
        "Date changes take effect from the following month, so this month's payment will still be taken on the current date.",
        "We review direct debit amounts every six months based on your usage, and we will suggest a new amount if you are building up too much credit or falling behind.",
        "You can request a lower amount at any time, but if it is well below your expected usage we may suggest a figure that avoids a large balance at the end of winter.",
        "To move the payment to a new bank account, add the new details in the same screen; the old mandate is cancelled automatically once the new one is active.",
        "Please don't cancel the direct debit through your bank, as that can lose you the direct debit discount on your tariff.",
    ], [
        ("Will changing the amount affect my tariff?", "No, your tariff and unit rates stay the same. The direct debit is just how you pay; only cancelling it altogether could move you to the pay-on-receipt version of the tariff, which costs a little more."),
    ]),
    T("credit_refund", "info", [
        "I have a credit balance of {amount} on my account. Can I have it back?",
        "My account has been in credit for months. How do I get a refund of the balance?",
        "We moved out and the final bill shows {small} in our favour. When do we get that?",
    ], [
        "Yes, you can ask for a refund of any credit balance at any time.",
        "If your account is still open, we normally keep enough credit to cover about one month of expected usage and refund the rest.",
        "Request it in the app under Account > Payments > Request a refund, or just reply here and we can raise it for you.",
        "Refunds go back to the bank account that pays your direct debit, and they normally arrive within 10 working days.",
        "For closed accounts, the refund is issued automatically once the final bill is confirmed, usually within 14 days of the final reading.",
        "If we don't have bank details for you, we will email a secure link to add them rather than sending a cheque.",
    ]),
    T("payment_failed", "problem", [
        "I got an email saying my direct debit failed. What happens now?",
        "My payment of {amount} bounced because I changed banks. Will I be charged a fee?",
        "Why did my monthly payment fail? There was money in the account.",
    ], [
        "When a direct debit fails we automatically try again after five working days, so you don't need to do anything if the funds will be there.",
        "There is no charge for a first missed payment, and it won't affect your tariff.",
        "If you have switched banks, update your details in Account > Payments before the retry date so the new mandate is used.",
        "Failures with money in the account are usually caused by a cancelled mandate, often when a bank moves customers to a new account number.",
        "If two payments in a row fail, we will get in touch to agree a payment plan rather than adding charges.",
        "You can also make a one-off card payment in the app if you'd prefer to clear it straight away.",
    ]),
    T("moving_home", "info", [
        "I'm moving house on {date}. What do I need to do with my Lumen Grid account?",
        "We're selling the house next month. Can I take my Lumen tariff with me?",
        "How do I close my account? I'm moving in with my partner who already has a supplier.",
    ], [
        "Let us know your moving date at least two days ahead through Account > Moving home in the app.",
        "On the day you leave, take a meter reading and a photo of the meter, and submit it so your final bill is accurate.",
        "If you are moving somewhere we supply, we can move your tariff to the new address with no exit fee, even on Fixed 12.",
        "Your final bill will arrive within 14 days, and any credit is refunded automatically to your bank account.",
        "The Halo thermostat can stay with the property or come with you; if you take it, remove it from the old home in the app so the new owners can set it up.",
        "If the new home already has a supplier, you don't need to do anything there; just close this account and the meter is handed over to the next occupant.",
    ], [
        ("Do I need to be there for a final reading?", "No. A photo of the meter on moving day is enough, and if you have a working smart meter we will take the reading remotely. Just make sure the date on the submission matches the day you hand over the keys."),
        ("What happens to my thermostat schedules if I take the Halo with me?", "Your schedules are stored in your Lumen account, not just on the device, so when you add the Halo to your new home in the app you can restore them. You may want to tweak them if the new home heats up at a different rate."),
    ]),
    T("duplicate_charge", "problem", [
        "I've been charged twice for order {order}. Can you refund one of them?",
        "My bank statement shows two payments of {amount} to Lumen Grid on the same day. Help!",
        "There's a double charge on my card for the Halo I bought last week.",
    ], [
        "Sorry about that. In most cases the second amount is a pending authorisation rather than a real charge, and it drops off your statement within three to five working days.",
        "If both payments show as completed rather than pending, send us the last four digits of the card and the dates and we will investigate straight away.",
        "Once confirmed, a genuine duplicate is refunded to the same card within five to seven working days.",
        "You can see exactly what we've taken under Orders > {order} > Payments in your online account.",
        "We won't ask for your full card number, so please don't send it in chat or by email.",
    ]),
    T("vat_invoice", "info", [
        "I bought a Halo Pro for my office and need a VAT invoice. Where can I get one?",
        "Can you send a VAT receipt for order {order}? My accountant needs it.",
        "Do your invoices show VAT separately? I'm claiming it back through my business.",
    ], [
        "You can download a VAT invoice for any hardware order from Orders in your online account by choosing the order and selecting 'Download invoice'.",
        "The invoice shows the net price, VAT at 20% and our VAT number, so it is suitable for claiming the VAT back.",
        "If you need the invoice addressed to a company, add the business name and address in the order details before downloading.",
        "Energy bills for domestic accounts show VAT at the reduced domestic rate of 5%, which businesses generally can't reclaim.",
        "If the download button is greyed out, the order hasn't been dispatched yet, and the invoice becomes available on the day it ships.",
    ]),
    T("exit_fee", "info", [
        "I'm on Fixed 12 and want to switch to Flex Saver. Will I pay an exit fee?",
        "How much does it cost to leave my fixed tariff early? I've got about {weeks} months left.",
        "If I leave Lumen Grid for another supplier, do I have to pay anything?",
    ], [
        "Fixed 12 has an exit fee of £75 per fuel if you leave more than 49 days before the end date.",
        "Within the last 49 days of the fix you can switch tariff or supplier without any fee at all.",
        "Switching from Fixed 12 to another Lumen Grid tariff counts as leaving the fix, so the exit fee would still apply outside that window.",
        "Flex Saver and Green Standard have no exit fees, so you can leave them at any time.",
        "If you're moving home to an address we supply, we will waive the fee and move the fix with you.",
        "Check your exact end date in the app under Account > Tariff before deciding.",
    ]),
    # ---------------------------------------------------------------- tariffs
    T("flex_saver", "info", [
        "How does the Flex Saver tariff actually work?",
        "What are the cheap hours on Flex Saver? I work from home so I'm around all day.",
        "Is Flex Saver worth it if I can move my washing and dishwasher to the evenings?",
        "Someone told me Flex Saver is more expensive between 4 and 7pm. Is that right?",
    ], [
        "Flex Saver is a time-of-use tariff, so the price of electricity changes depending on when you use it.",
        "The off-peak rate runs from 00:30 to 05:30 and is roughly half the standard rate.",
        "The peak window is 4pm to 7pm on weekdays, when the unit rate is higher than our standard tariff.",
        "All other times use a mid rate that is a little below Green Standard.",
        "It suits homes that can shift things like washing, dishwashers or EV charging into the night, and you'll need a working smart meter that sends half-hourly readings.",
        "The Energy tab shows your usage split by rate, so after a month you can see whether you are actually saving.",
        "Your Halo can help by pre-heating the home before 4pm and easing off during the peak window if you turn on Peak Saver in the heating settings.",
    ], [
        ("What happens at weekends?", "Weekends have no peak window on Flex Saver, so you pay the mid rate all day except for the overnight off-peak hours, which still apply."),
        ("Can I switch back if it doesn't work out?", "Yes, Flex Saver has no exit fee, so you can switch back to Green Standard at any time from the app. The change takes effect from the next day."),
    ]),
    T("ev_tariff", "info", [
        "I'm getting an electric car next month. Can I go on Night Owl EV?",
        "What do I need to qualify for the Night Owl EV tariff?",
        "Does Night Owl EV cover the whole house at night or just the car charger?",
    ], [
        "Night Owl EV is for customers with an electric vehicle or plug-in hybrid charged at home, and it needs a smart meter that sends half-hourly readings.",
        "The cheap rate applies to your whole home between midnight and 5am, not only to the charger, so a washing machine or storage heater running overnight benefits too.",
        "Outside those hours you pay a day rate that is slightly higher than our standard tariff.",
        "You don't need a particular charger brand, but a charger with scheduling makes it much easier to keep charging within the cheap window.",
        "You can apply from Account > Tariff > Change tariff once the car is registered at your address, and we may ask for the registration number.",
        "Most customers who charge at least three times a week save money compared with Green Standard.",
    ]),
    T("compare_tariffs", "info", [
        "We use about {kwh} kWh of electricity a year. Which of your tariffs would be cheapest?",
        "Should I fix or stay on the variable tariff? I'm on {tariff} at the moment.",
        "What's the difference between Green Standard and Fixed 12?",
    ], [
        "Green Standard is our variable tariff: prices can go up or down with 30 days' notice, and there are no exit fees.",
        "Fixed 12 locks your unit rates and standing charge for twelve months, which gives certainty but comes with a £75 exit fee per fuel.",
        "Flex Saver can be the cheapest if you can move a good chunk of your usage overnight, but it costs more if most of it falls between 4pm and 7pm.",
        "At around {kwh} kWh a year, the difference between tariffs is usually tens of pounds rather than hundreds, so flexibility matters as much as price.",
        "The tariff comparison in the app uses your last twelve months of real readings to estimate the annual cost on each option.",
        "All of our tariffs use 100% renewable electricity, so that part doesn't change whichever you pick.",
    ]),
    T("tariff_switch_timing", "info", [
        "I switched to {tariff} yesterday. When do the new prices kick in?",
        "How long does it take to change tariff? Will it be in time for this month's bill?",
        "The app still shows my old tariff after I changed it on {day}. Did it go through?",
    ], [
        "Tariff changes within Lumen Grid usually take effect from the day after you confirm them.",
        "The app can take up to 48 hours to show the new tariff name, even though the new rates already apply.",
        "Your next bill will be split, with the old rates up to the change date and the new rates after it.",
        "You'll get a confirmation email with the new unit rates and standing charge, so check your spam folder if it hasn't arrived.",
        "If the app still shows the old tariff after two days, send us a message and we will check that the change was recorded.",
        "You can cancel a tariff change within 14 days if you change your mind, with no fee.",
    ]),
    T("solar_export", "info", [
        "I've just had solar panels fitted. Do you pay for electricity I export?",
        "How do I get export payments for my solar? I have the SolarLink adapter.",
        "Why hasn't my export payment shown up on my bill yet? The panels went in {weeks} weeks ago.",
    ], [
        "Yes, our Sunshine Export tariff pays for every kWh your panels send back to the grid.",
        "You'll need a smart meter that records exports and the installer's MCS certificate, which you can upload in the app under Account > Solar.",
        "Export payments are added to your account as credit each month rather than paid separately.",
        "The first payment can take up to eight weeks after sign-up while we register the export meter with the network.",
        "If you have a SolarLink adapter, the Energy tab shows live generation, self-consumption and export, which makes it easy to check the figures.",
        "Using more of your solar during the day, for example by running appliances at lunchtime, is often worth more than exporting it.",
    ]),
    T("price_change", "info", [
        "I got a letter about a price change. What's going up and by how much?",
        "Will my rates go up in {month}? I'm on {tariff}.",
        "Do you tell customers before putting prices up?",
    ], [
        "We always give at least 30 days' notice of a price change by email and in the app.",
        "If you are on Fixed 12, your rates can't change until the fix ends, whatever happens to the market.",
        "Variable tariffs like Green Standard and Flex Saver can change, and the letter lists your old and new unit rates and standing charge side by side.",
        "You can switch tariff or supplier without any fee once you've been notified of an increase, even if you would normally pay one.",
        "The tariff comparison in the app will show you whether a fix is cheaper at the new prices.",
        "If you're worried about affording the increase, let us know, as we have support options including payment plans and our hardship fund.",
    ]),
    # ----------------------------------------------------------- installation
    T("book_install", "info", [
        "How do I book an engineer to install the {thermo} I just bought?",
        "What does professional installation cost and how long does it take?",
        "Can someone come and fit my thermostat on a {day}? I'm in {postcode}.",
    ], [
        "You can book installation in the app under Devices > Add device > Book an installer, or from the link in your order confirmation email.",
        "Professional installation costs £99 and includes fitting the Halo, wiring the Lumen Hub to your boiler and setting up the app with you.",
        "We offer morning (8am-12pm) and afternoon (12pm-5pm) slots from Monday to Saturday, subject to availability in your area.",
        "Most installs take between 60 and 90 minutes, and the heating will be off for part of that time.",
        "The engineer will check your boiler is compatible on the day, but you can check in advance with the compatibility tool on our website.",
        "Please make sure someone over 18 is home and that the engineer can reach the boiler and the spot where the thermostat will go.",
    ], [
        ("Can I choose a specific time within the slot?", "We can't guarantee an exact time, but the engineer will text you about 30 minutes before arriving, and you can track them on the day from the link in the text."),
    ]),
    T("reschedule_install", "info", [
        "I need to move my installation appointment on {date}. How do I do that?",
        "Something's come up and I can't be in for the engineer tomorrow. Is there a charge to rebook?",
        "Can I cancel my installation and just get a refund of the £99?",
    ], [
        "You can reschedule for free up to 48 hours before the appointment in the app under Devices > Installation, or from the link in your booking email.",
        "Within 48 hours, please call us so we can try to offer the slot to someone else, and we'll still rebook you at no charge the first time.",
        "If nobody is home when the engineer arrives, a £35 missed appointment fee may apply.",
        "If you cancel the installation entirely, the £99 is refunded to your original payment method within five to seven working days.",
        "New slots usually open up about two weeks ahead, so check back if you don't see a date that suits.",
    ]),
    T("wiring_compat", "problem", [
        "My old thermostat only has two wires. Will the {thermo} still work?",
        "The compatibility checker says I don't have a common wire. Does that rule me out?",
        "I'm not sure my {boiler} will work with Halo. How can I check?",
    ], [
        "Halo doesn't need a common wire, because the Lumen Hub does the switching at the boiler and the thermostat itself runs on its own power supply or batteries.",
        "Most two-wire setups are fine, since the Hub connects to the boiler's switched live and neutral terminals rather than to the old thermostat wires.",
        "Halo works with combi, system and regular boilers, and with OpenTherm boilers it can modulate the flow temperature for better efficiency.",
        "Run the compatibility checker on our website and upload a photo of the wiring behind your current thermostat and the boiler's terminal block.",
        "If anything looks unusual, such as a 24V control system or a heat pump with its own controller, a specialist will review the photos and reply within two working days.",
        "Please switch off the power at the fuse spur before taking the cover off any wiring.",
    ]),
    T("self_install", "info", [
        "Can I install the {thermo} myself or do I need an engineer?",
        "Is the Halo Mini DIY-friendly? I don't really want to pay £99 for installation.",
        "Do I void the warranty if I fit the Hub myself?",
    ], [
        "The Halo Mini is designed for self-installation: it runs on two AA batteries and simply pairs with an existing Lumen Hub.",
        "The Lumen Hub connects to mains voltage at the boiler, so in the UK we recommend it is fitted by a qualified electrician or heating engineer.",
        "Fitting the Hub yourself doesn't void the warranty, but damage caused by incorrect wiring isn't covered.",
        "The in-app guide walks you through each step with photos, including a check that the boiler responds before you put the covers back on.",
        "If you get stuck part way through, you can upgrade to a professional install from the app and we'll deduct the cost of any parts you've already fitted.",
        "Halo and Halo Pro can be wall-mounted or placed on the optional stand, so you don't have to use the old thermostat position.",
    ]),
    T("heat_pump", "info", [
        "Does the {thermo} work with an air-source heat pump?",
        "We're having a heat pump put in. Should I keep the Halo or use the heat pump's own controller?",
        "Can Halo control underfloor heating connected to a heat pump?",
    ], [
        "Halo Pro works with most air-source heat pumps that accept an on/off or OpenTherm control signal.",
        "Heat pumps work best with long, steady heating periods rather than big boosts, so Halo has a Heat Pump mode that uses gentle setbacks and avoids short cycling.",
        "Some manufacturers prefer their own weather-compensation controller, in which case Halo can act as a room thermostat that only tells the heat pump when heat is needed.",
        "For underfloor heating, set the zone type to 'slow response' in the app so Halo starts warming the floor earlier.",
        "Ask your installer which control signal the heat pump expects, and send us the model number if you want us to confirm compatibility.",
        "Standard Halo and Halo Mini will work in heat pump homes too, but only Halo Pro supports the modulating control.",
    ]),
    T("engineer_no_show", "problem", [
        "The engineer was supposed to come between 8 and 12 today and nobody turned up.",
        "I took the day off for my installation on {date} and no one arrived. What's going on?",
        "Our installer didn't show and didn't call. This is really frustrating.",
    ], [
        "I'm really sorry, that's not the service we want to give.",
        "Occasionally an earlier job overruns or an engineer is taken ill, and we should always text you if that happens.",
        "I've flagged the missed visit to the installation team, and they'll contact you to rebook at the earliest available slot.",
        "Because we missed the appointment, we'll add £30 of credit to your account as compensation, in line with our service guarantee.",
        "If you had to take unpaid time off, reply with the details and we'll look at it as part of a complaint.",
        "You can also pick a new slot straight away in the app under Devices > Installation.",
    ]),
    T("renting", "info", [
        "I rent my flat. Can I still get a Halo installed?",
        "Do I need my landlord's permission to swap the thermostat?",
        "I'm a tenant and might move out next year. Is a smart thermostat worth it?",
    ], [
        "Yes, lots of renters use Halo, but you'll need your landlord's permission before changing the heating controls.",
        "Keep the old thermostat safe so it can be refitted when you move out, and take a photo of the original wiring before anything is disconnected.",
        "The Halo Mini is often the easiest option for renters, because it can sit on a shelf and only the Hub needs wiring at the boiler.",
        "When you leave, you can take Halo with you, and our engineers can refit the original thermostat for a reduced fee of £45.",
        "Most tenants save enough on heating within a year or two to cover the cost, especially with schedules and Away mode.",
    ]),
    # ----------------------------------------------------- hardware problems
    T("device_offline", "problem", [
        "My {thermo} says it's offline in the app but the screen is on. What do I do?",
        "The app shows 'Device offline' for the {room} thermostat and I can't change the temperature.",
        "Why does the Halo keep dropping off the wifi every evening?",
        "My Halo screen is showing error E12. What does that mean?",
    ], [
        "Check that your home Wi-Fi is working on another device and that the router hasn't been restarted with a new name or password.",
        "Restart the Lumen Hub by unplugging it for 10 seconds and plugging it back in, then wait two minutes for the light to turn solid green.",
        "Error E12 means the thermostat has lost its connection to the Hub, which is often caused by distance or thick walls between them.",
        "If the Hub light is blinking amber, it can't reach the internet, so move it closer to the router or use a wired connection if your router has a spare port.",
        "In the app, go to Devices > {thermo} > Connection to see the signal strength; anything below two bars is likely to cause drop-outs.",
        "Your heating schedule keeps running on the device while it's offline, so the house won't go cold, you just can't control it remotely.",
        "If it drops off at the same time each evening, check whether your router has a scheduled restart or a parental-controls timer.",
    ], [
        ("The Hub light is solid green but the app still says offline.", "That usually means the Hub is online but the thermostat isn't reaching it. Try taking the Halo off its wall plate for ten seconds and refitting it, which restarts the radio. If it's still offline, send me the serial number from the back of the unit and I'll check the connection logs."),
        ("Would a Wi-Fi extender help?", "It can help the Hub reach your router, but it won't help the thermostat, which talks to the Hub over its own low-power radio. If the thermostat is far from the Hub, a Lumen Plug placed in between acts as a signal repeater."),
    ], steps=True),
    T("e31_boiler", "problem", [
        "My Halo is showing E31 and the heating won't come on.",
        "What does error code E31 mean? It appeared this morning and the house is freezing.",
        "The thermostat says it's calling for heat but my {boiler} isn't firing up.",
    ], [
        "E31 means the Hub sent a request for heat but didn't get a response from the boiler.",
        "First check the boiler itself: make sure it has power and isn't showing its own fault code or low pressure.",
        "If the pressure gauge is below 1 bar, top it up following the boiler manual, then reset the boiler.",
        "Restart the Lumen Hub at the fused spur by switching it off for 30 seconds.",
        "Turn the heating up by a few degrees in the app and listen for the boiler firing within a couple of minutes.",
        "If the boiler works from its own controls but not from Halo, the wiring between the Hub and the boiler may have come loose, and we'll arrange an engineer visit at no cost under warranty.",
    ], [
        ("The boiler pressure was 0.5 bar. I've topped it up and it works now.", "Great, that was the cause. Keep an eye on the pressure over the next week, because if it keeps dropping there may be a small leak or a faulty pressure relief valve, which is worth getting a heating engineer to look at."),
    ], steps=True),
    T("e47_sensor", "problem", [
        "The {thermo} says it's {temp2} degrees but it feels much colder in the {room}.",
        "My thermostat reading is about three degrees off compared to a normal thermometer.",
        "I'm getting error E47 on my Halo Pro. Is it broken?",
    ], [
        "Temperature readings can be thrown off if the thermostat is near a radiator, in direct sunlight, above a lamp or on an outside wall.",
        "Give it an hour after moving it, because the sensor needs time to settle.",
        "In the app, go to Devices > Settings > Temperature offset and adjust the reading by up to 3 degrees to match a trusted thermometer.",
        "Error E47 means the internal sensor returned a reading outside its normal range, which can happen once after a power cut and then clear.",
        "If E47 comes back after a restart, the sensor is likely faulty, and the unit will be replaced under warranty.",
        "If you have a Halo Mini in another room, you can set the heating to follow that reading instead.",
    ], steps=True),
    T("mini_battery", "problem", [
        "My Halo Mini keeps flashing a battery icon. Which batteries does it take?",
        "How long should the batteries in the Halo Mini last? Mine went flat after {weeks} weeks.",
        "The Mini is showing E05. Is that the batteries?",
    ], [
        "Yes, E05 is the low battery warning.",
        "The Halo Mini takes two AA batteries, and a good set of alkaline batteries should last around twelve months.",
        "Slide the Mini up off its mount, open the cover on the back and replace both batteries at the same time.",
        "Rechargeable batteries run at a lower voltage and can trigger the warning early, so we recommend standard alkaline or lithium AAs.",
        "If batteries are lasting only a few weeks, the Mini may be struggling to reach the Hub and using extra power to retry, which a Lumen Plug nearby can fix.",
        "Your settings and schedules are saved, so nothing is lost while the batteries are out.",
    ], steps=True),
    T("factory_reset", "problem", [
        "How do I factory reset my {thermo}? I bought it second hand.",
        "I want to wipe the Halo before I give it to my brother. What's the process?",
        "The thermostat is stuck on the setup screen. Should I reset it?",
    ], [
        "First remove the device from the previous owner's account, or ask them to, because a reset alone doesn't unlink it from their Lumen account.",
        "Press and hold the dial for 15 seconds until the screen shows 'Reset?', then turn the dial to 'Yes' and press once to confirm.",
        "The device restarts in about a minute and shows the language selection screen when it's ready to set up.",
        "On a Halo Mini, hold the button on the back with a paperclip for 10 seconds instead.",
        "Resetting clears the schedules and Wi-Fi details stored on the device, but not your account history.",
        "If it's still stuck on the setup screen after a reset, update the app and try adding it again with your phone's Bluetooth turned on.",
    ], steps=True),
    T("new_router", "problem", [
        "I've got a new broadband router. How do I reconnect the Lumen Hub?",
        "We changed our wifi password and now nothing in the Lumen app works.",
        "How do I move the Hub to a new Wi-Fi network?",
    ], [
        "In the app, go to Devices > Lumen Hub > Wi-Fi network and choose 'Change network'.",
        "Hold the button on the Hub for five seconds until the light blinks blue, which puts it into pairing mode.",
        "Keep your phone within a couple of metres of the Hub and select the new network, then enter the password.",
        "The Hub only works on 2.4 GHz networks, so if your router combines 2.4 and 5 GHz under one name and the Hub won't join, temporarily split them in the router settings.",
        "Your thermostats and valves reconnect to the Hub on their own once it's back online, which can take up to five minutes.",
        "If you gave the new router the same network name and password as the old one, the Hub usually reconnects without you doing anything.",
    ], steps=True),
    T("gridsense_clamp", "problem", [
        "My GridSense monitor is showing negative usage. We don't have solar panels.",
        "The GridSense reading is stuck at 0 W even though the kettle is on.",
        "The energy monitor numbers don't match my smart meter at all.",
    ], [
        "A negative reading without solar almost always means the clamp is fitted the wrong way round on the meter tail.",
        "Open the app, go to Devices > GridSense > Calibration and tap 'Reverse direction', which fixes it without touching the clamp.",
        "If it reads zero, check the clamp is fully closed around a single live cable (usually brown or red) and not around both cables together.",
        "Small differences from your smart meter are normal, because the clamp measures current and estimates the voltage, so expect to be within about 5%.",
        "If the difference is bigger, enter your typical mains voltage from the calibration screen, which you can find on your smart meter display.",
        "Please don't open the meter or touch the tails yourself if any insulation looks damaged; call us and we'll send someone.",
    ], steps=True),
    T("radiator_valve", "problem", [
        "One of my Lumen radiator valves won't open. The radiator in the {room} is stone cold.",
        "The smart valve on the {room} radiator keeps making a whirring noise at night.",
        "How do I calibrate a Lumen radiator valve?",
    ], [
        "Start with a calibration: in the app go to Devices > {room} valve > Calibrate, and the valve will close and open fully to learn the travel of the pin.",
        "If the radiator is still cold, take the valve head off and gently press the pin underneath a few times, because pins often stick after a summer of not moving.",
        "A brief whirring is normal when the valve adjusts, but repeated noise usually means it's hunting, which calibration fixes.",
        "You can turn on Quiet Hours in the valve settings so it only makes small adjustments overnight.",
        "If the radiator stays cold with the valve removed, the problem is in the heating system, such as trapped air, and bleeding the radiator may help.",
        "Check the batteries too, since a valve on low batteries can stop part way.",
    ], steps=True),
    T("blank_screen", "problem", [
        "The screen on my {thermo} has gone completely blank.",
        "My Halo's display is really dim and hard to read in the day.",
        "The thermostat screen turns off after a few seconds. Is that normal?",
    ], [
        "By default the display dims after 20 seconds to save energy, and wakes when you walk up to it or turn the dial.",
        "You can change this in the app under Devices > Display, including setting it to stay on at low brightness.",
        "If the screen is completely dark and doesn't wake, check whether the Hub still shows the thermostat as online, because if it does, the display itself may be faulty.",
        "For a blank Halo Mini, replace the batteries first.",
        "If brightness seems low in daylight, turn off 'Auto-brightness', as the light sensor can be fooled by a nearby window.",
        "A completely blank display within the warranty period will be replaced free of charge.",
    ]),
    T("heating_stuck_on", "problem", [
        "The heating won't turn off even though the Halo says it's set to {temp}.",
        "My radiators have been hot all night. The schedule says off from 11pm.",
        "The boiler keeps running even when I turn the thermostat right down.",
    ], [
        "First check the app for an active Boost or a manual hold, because either one overrides the schedule until it ends.",
        "Look at the Frost protection setting too: if it's set high, the heating will come on to keep the house at that temperature.",
        "If the Halo shows heating off but the boiler keeps running, turn the boiler's own timer to constant or off, because it may be overriding the Hub.",
        "A Hub relay that's stuck closed will keep the boiler on, and you can test this by switching the Hub off at the spur to see if the boiler stops.",
        "If switching off the Hub stops the heating, the Hub needs replacing, which we'll do under warranty.",
        "Hot water cylinders can also make radiators warm if a motorised valve is stuck, which is a job for a heating engineer.",
    ], steps=True),
    T("firmware_update", "problem", [
        "My Halo has been stuck on 'Updating' for over an hour.",
        "How do I check which firmware my thermostat is on? Support told me I need {firmware}.",
        "Can I stop the thermostat from updating automatically?",
    ], [
        "Updates usually finish within 15 minutes, and the thermostat keeps your schedule running in the background.",
        "If it's been over an hour, restart the Hub by unplugging it for 10 seconds and the update will resume from where it stopped.",
        "You can see the current firmware under Devices > {thermo} > About in the app.",
        "Updates are installed automatically overnight between 2am and 4am, and they can't be switched off because they include security fixes.",
        "You can postpone an update by up to seven days from the notification if the timing isn't convenient.",
        "If the screen shows 'Update failed', hold the dial for 15 seconds to restart and the device will fall back to its previous version.",
    ], steps=True),
    T("lumen_plug", "problem", [
        "My Lumen Plug won't switch on from the app.",
        "The Lumen Plug in the {room} keeps turning itself off.",
        "Can a Lumen Plug be used with a panel heater?",
    ], [
        "Check the plug's light: solid white means it's connected, blinking white means it's looking for the Hub.",
        "If it's blinking, hold the button for five seconds to put it back into pairing mode and add it again from Devices > Add device.",
        "Plugs switching off on their own are usually following a schedule or a Routine, so check the Routines tab for anything that includes that plug.",
        "The Lumen Plug is rated at 13A (about 3 kW), so it's fine for most panel heaters, but don't use it with extension leads for heaters.",
        "If the plug turns off under heavy load, it may be hitting its over-temperature protection, which is a safety feature.",
    ], steps=True),
    # ------------------------------------------------------------------ app
    T("app_login", "problem", [
        "I can't log into the Lumen app. It says my password is wrong but I've reset it twice.",
        "I got a new phone and the app keeps asking for a verification code I never receive.",
        "The app logs me out every time I close it on my {phone}.",
    ], [
        "Make sure you're logging in with the email address on your account, since some customers have more than one.",
        "Verification codes are sent by text to the mobile number on your account, so if it has changed, we can update it once we've verified your identity.",
        "Codes can take a minute or two to arrive, and requesting several in a row invalidates the earlier ones, so use only the latest.",
        "Update the app to the latest version from the app store, as older versions can fail to remember your login.",
        "If the app logs you out every time, check that your phone isn't clearing app data automatically, which some battery saver modes do.",
        "If none of this works, reply with your account number and the email you're using and we'll take a look at your login history.",
    ]),
    T("geofencing", "problem", [
        "Home & Away isn't working. The heating stayed on all day while we were out.",
        "How does the geofencing feature know when I've left the house?",
        "My partner's phone keeps turning the heating off when they're still at home.",
    ], [
        "Home & Away uses your phone's location to tell when everyone in the household has left or is on the way back.",
        "Each person who should count needs the Lumen app installed, logged in to the same home and allowed to use location 'Always'.",
        "On Android, also turn off battery optimisation for the Lumen app, otherwise the phone can stop location updates in the background.",
        "The home radius defaults to 500 metres, and increasing it in Settings > Home & Away can stop false triggers in built-up areas.",
        "If one person's phone leaves the home zone incorrectly, the heating will only switch to Away if all other household phones are also away.",
        "You can see a log of Home and Away events in the app's Activity tab, which shows which phone triggered each change.",
    ]),
    T("schedule_setup", "info", [
        "How do I set up a heating schedule for weekdays and weekends in the app?",
        "Can I have the {room} warmer in the mornings than the rest of the house?",
        "What's the easiest way to copy Monday's schedule to the rest of the week?",
    ], [
        "Open the Schedule tab and tap on a day to add time blocks, each with its own target temperature.",
        "To copy a day, press and hold it and choose 'Copy to', then pick the other days.",
        "If you have radiator valves or a Halo Mini in other rooms, each zone can have its own schedule, so the {room} can be warmer at set times.",
        "Halo's Early Start feature turns the heating on in time to reach the target by the start of each block, rather than starting at that time.",
        "A setback of 2-3 degrees overnight and while you're out is usually the best balance of comfort and savings.",
        "Changes sync to the thermostat within a few seconds, and you can check the next scheduled change on the thermostat's home screen.",
    ], steps=True),
    T("household_access", "info", [
        "How do I give my husband access to control the thermostat?",
        "Can my mum control her Halo from my app? I live in a different city.",
        "We have a lodger. Can I let them change the temperature without seeing the bills?",
    ], [
        "Go to Settings > Household > Invite and enter the person's email address.",
        "They'll get an email with a link to download the app and join your home.",
        "You can choose whether a member is an Owner, who can see billing, or a Guest, who can only control the heating.",
        "One app account can be a member of several homes, so you can manage a parent's Halo and switch between homes from the top of the screen.",
        "You can remove a member at any time, and they lose access straight away.",
        "Guest members don't see tariffs, bills or energy costs, which makes Guest the right choice for lodgers.",
    ]),
    T("energy_tab", "info", [
        "What does the Energy tab in the app actually show?",
        "The app says I used {kwh} kWh last year. How does that compare to other homes?",
        "Why does the Energy tab show costs that are different from my bill?",
    ], [
        "The Energy tab shows your electricity and gas usage by day, week or month, using readings from your smart meter.",
        "If you have a GridSense monitor, you also get a live view and a breakdown of big appliances like the kettle or washing machine.",
        "Costs in the Energy tab are estimates based on your unit rates and don't include standing charges, credits or adjustments, so they'll differ slightly from the bill.",
        "The Compare view shows how your usage compares to similar homes nearby with the same number of bedrooms.",
        "A typical medium-sized home uses around 2,700 kWh of electricity a year, so {kwh} kWh gives you a sense of where you sit.",
        "Smart meter data can be a day or two behind, so the most recent days may look low until the readings arrive.",
    ]),
    T("notifications", "info", [
        "The app sends me far too many notifications. Can I turn some off?",
        "I'm not getting any alerts from the app, even when the heating goes offline.",
        "Can I get a notification if the temperature in the {room} drops below {temp} degrees?",
    ], [
        "Go to Settings > Notifications to choose which alerts you get, grouped into Heating, Devices, Energy and Account.",
        "Important safety alerts, such as frost warnings and device faults, can be limited but not fully switched off.",
        "If you're not getting any alerts, check that notifications are allowed for the Lumen app in your phone's settings.",
        "You can create a custom alert under Routines > New routine > When temperature drops below, and pick the room and threshold.",
        "The weekly energy summary can be sent by email instead of a push notification if you prefer.",
    ]),
    T("voice_assistants", "info", [
        "Does Halo work with Alexa?",
        "How do I link my thermostat to Google Home?",
        "Can I ask Siri to turn the heating up?",
    ], [
        "Yes, Halo works with Amazon Alexa, Google Home and Apple Home.",
        "For Alexa, enable the Lumen Grid skill in the Alexa app and sign in with your Lumen account.",
        "For Google Home, open the Google Home app, tap Add > Works with Google and search for Lumen Grid.",
        "Apple Home support uses Matter, so add the Halo in the Home app by scanning the Matter code under Devices > {thermo} > Share in the Lumen app.",
        "Once linked, you can say things like 'set the living room to 20 degrees' or 'turn off the heating'.",
        "Voice assistants can't access billing or tariff information for security reasons.",
    ]),
    T("local_api", "info", [
        "Is there a local API for the Lumen Hub? I want to read the temperature from a script.",
        "How do I get the current room temperature from the Hub with Python?",
        "Can Home Assistant talk to the Lumen Hub without going through the cloud?",
    ], [
        "Yes, the Hub has a local REST API that you can enable under Devices > Lumen Hub > Advanced > Local API.",
        "Enabling it shows a local token, which you send in an Authorization header; the token only works on your home network.",
        "A minimal Python example:\n\n```python\nimport requests\n\nHUB = \"http://lumen-hub.local\"\nheaders = {\"Authorization\": \"Bearer YOUR_LOCAL_TOKEN\"}\nzones = requests.get(f\"{HUB}/api/v1/zones\", headers=headers, timeout=5).json()\nfor z in zones:\n    print(z[\"name\"], z[\"temperature\"])\n```",
        "For Home Assistant, the community Lumen Grid integration uses the same local API and discovers the Hub automatically.",
        "The local API is read-only for billing data and rate-limited to about one request per second.",
        "Keep the token private and regenerate it from the same screen if it's ever exposed.",
    ]),
    T("away_mode", "info", [
        "We're going on holiday for {days} days. What's the best way to set the heating?",
        "How do I use Away mode so the pipes don't freeze while we're abroad?",
        "Can I set the heating to come back on the day before we get home?",
    ], [
        "Use Holiday mode in the app, set the start and end dates, and choose a minimum temperature.",
        "We recommend a minimum of 10-12 degrees in winter to protect pipes and avoid damp.",
        "Holiday mode can turn the heating back on a few hours before you return, so the house is warm when you arrive.",
        "Hot water can be switched off for the whole period if you have a cylinder, and it resumes with your normal schedule.",
        "Frost protection stays active in the background regardless of mode.",
        "If you have Home & Away on, it will already switch to Away when everyone leaves, but Holiday mode is better for long trips because it won't be triggered by someone's phone.",
    ]),
    # ------------------------------------------- orders, returns, warranty
    T("order_status", "info", [
        "When will my order {order} arrive? I ordered it {days} days ago.",
        "I haven't had a dispatch email for my Halo yet. Is there a delay?",
        "Where can I track my Lumen order?",
    ], [
        "Orders are usually dispatched within two working days and delivered by {carrier} within two to three working days after that.",
        "You'll get a dispatch email with a tracking link as soon as the parcel leaves our warehouse.",
        "You can also track it under Orders in your online account, which shows the latest status from the courier.",
        "If an order includes an installation, the hardware is brought by the engineer on the day, so you won't get a separate delivery.",
        "Occasionally stock of the Halo Pro runs low, and if your order is affected we'll email you with a new dispatch date.",
        "If it has been more than seven working days, reply with the order number and we'll chase it with the courier.",
    ]),
    T("return_refund", "info", [
        "Can I return my {thermo}? It doesn't suit our house.",
        "I've changed my mind about the Halo Pro. How do I send it back?",
        "How long do I have to return something I bought from Lumen Grid?",
    ], [
        "You can return any hardware within 30 days of delivery for a full refund, even if it's been installed.",
        "Start the return from Orders > Return an item, which generates a free returns label.",
        "Please include all the parts, including the mounting plate and any cables, and pack it securely, ideally in the original box.",
        "Refunds go back to your original payment method within five to seven working days of the parcel reaching us.",
        "If you paid for professional installation, the installation fee isn't refundable once the work has been done, unless the device was faulty.",
        "If you're returning it because something isn't working, let us know, as we may be able to fix it or send a replacement faster.",
    ]),
    T("warranty_claim", "problem", [
        "My {thermo} stopped working after {years} years. Is it still under warranty?",
        "How do I make a warranty claim for a faulty Lumen Hub?",
        "What does the Lumen Grid warranty cover?",
    ], [
        "Halo, Halo Mini, the Lumen Hub and GridSense have a two-year warranty, and Halo Pro has a five-year warranty.",
        "Refurbished devices from our outlet store come with a one-year warranty.",
        "The warranty covers faults in materials and workmanship, but not accidental damage, incorrect wiring or water damage.",
        "To claim, go to Devices > {thermo} > Help > Report a fault, and the app will run a quick diagnostic first.",
        "If the fault is confirmed, we'll send a replacement before you return the old one, so you're not left without heating.",
        "Warranty replacements come with the remainder of the original warranty or 90 days, whichever is longer.",
    ], [
        ("I bought it second hand. Does the warranty still apply?", "Yes, the warranty goes with the device, not the buyer, so it still applies until two years after the original purchase date (five for Halo Pro). We can look up the date from the serial number if you don't have a receipt."),
    ]),
    T("damaged_delivery", "problem", [
        "My Halo arrived with a cracked screen. What should I do?",
        "The box for order {order} was crushed and the Hub rattles inside.",
        "Part of my order is missing. I got the thermostat but no Hub.",
    ], [
        "Sorry about that. Please take a few photos of the item and the packaging before throwing anything away.",
        "Report it within 14 days under Orders > {order} > Report a problem, and attach the photos.",
        "We'll send a replacement straight away, and the courier will collect the damaged item when they deliver it.",
        "Please don't install a damaged device, particularly the Hub, since it connects to mains power.",
        "For missing items, check whether the order came in two parcels, as the Hub and thermostat sometimes ship separately on the same day.",
    ]),
    T("complaint", "problem", [
        "I want to make a formal complaint. I've been chasing a refund for {weeks} weeks.",
        "How do I escalate a complaint? Nobody has got back to me.",
        "This is the third time I've contacted you about the same problem. Who can I speak to?",
    ], [
        "I'm sorry you've had to chase this, and I've logged it as a formal complaint so it's handled by our complaints team.",
        "You'll get an email with a complaint reference within one working day, and a named case handler will contact you.",
        "We aim to resolve complaints within five working days, and we'll keep you updated if it's going to take longer.",
        "If we haven't resolved your complaint within eight weeks, or you're unhappy with our final response, you can take it to the Energy Ombudsman for free.",
        "It helps to reply with any previous reference numbers and the dates you contacted us, so the case handler has the full history.",
    ]),
    T("accessibility", "info", [
        "My dad has poor eyesight. Can the Halo display be made bigger?",
        "Does the Lumen app work with VoiceOver?",
        "Is there a simpler mode on the thermostat for an elderly relative?",
    ], [
        "Halo has a High Contrast mode with larger numbers, which you can turn on under Settings > Display on the device or in the app.",
        "The Lumen app supports VoiceOver on iPhone and TalkBack on Android, and every control has a spoken label.",
        "Simple mode hides everything except the temperature and the up and down controls, which many older customers find easier.",
        "You can lock the schedule so it can't be changed by accident, while still allowing small temperature adjustments.",
        "If you manage the heating for a relative, add yourself as an Owner on their home so you can help remotely.",
        "We can also register the account on our Priority Services Register, which gives extra support during outages.",
    ]),
    T("power_cut", "problem", [
        "We had a power cut last night and now the thermostat is showing the wrong time.",
        "After the power cut the heating schedule seems to be ignored.",
        "Does the Halo remember its settings if the electricity goes off?",
    ], [
        "Yes, schedules and settings are stored on the device and in your account, so a power cut doesn't erase them.",
        "The time is set from the internet, so it corrects itself once the Hub reconnects after the power returns.",
        "If the clock is still wrong after an hour, check that the Hub is online and restart it if the light isn't solid green.",
        "While the time is wrong the schedule will run at the wrong hours, which is why the heating may seem to ignore it.",
        "Some boilers need resetting after a power cut, so if the heating won't come on at all, check the boiler display for a fault code.",
    ], steps=True),
    T("hot_water", "info", [
        "Can Halo control my hot water cylinder as well as the heating?",
        "How do I boost the hot water for {minutes} minutes from the app?",
        "My hot water schedule doesn't show up in the app. We have a {boiler}.",
    ], [
        "If you have a system or regular boiler with a hot water cylinder, the Lumen Hub has a second channel for hot water.",
        "Hot water gets its own schedule in the Schedule tab, separate from the heating.",
        "To boost it, tap Hot Water on the home screen and choose 30, 60 or 120 minutes.",
        "Combi boilers heat water on demand, so there's no hot water schedule to show, and that's expected.",
        "If you do have a cylinder but no hot water option, the Hub may have been wired for heating only, and an engineer can connect the second channel.",
        "Heating the cylinder once or twice a day at set times is usually cheaper than keeping it hot all day.",
    ]),
    T("smart_meter_install", "info", [
        "Can Lumen Grid install a smart meter for me?",
        "Do I need a smart meter to use the Halo thermostat?",
        "My old supplier fitted a smart meter. Will it work with Lumen Grid?",
    ], [
        "Yes, smart meter installation is free for Lumen Grid energy customers, and you can book it under Account > Smart meter.",
        "You don't need a smart meter to use Halo: the thermostat works with any supplier and any meter.",
        "A smart meter is needed for time-of-use tariffs like Flex Saver and Night Owl EV, and for half-hourly data in the Energy tab.",
        "Most second-generation smart meters (SMETS2) work with us straight away after you switch.",
        "Older first-generation meters are being migrated to the national network, and until that happens we may need manual readings from you.",
        "The installation takes about two hours and the power will be off for around 30 minutes of that.",
    ]),
    T("referral", "info", [
        "Do you have a refer-a-friend scheme?",
        "My friend joined with my referral link. When do we get the credit?",
        "Is there a discount if I order a Halo for my parents as well?",
    ], [
        "Yes, you and your friend each get £50 of account credit when they switch their energy to Lumen Grid using your link.",
        "Your referral link is in the app under Account > Refer a friend.",
        "The credit is added once your friend's supply has been live for 28 days.",
        "Hardware orders don't count towards the referral credit, but we run occasional bundle offers on Halo and radiator valves.",
        "There's no limit to how many people you can refer.",
    ]),
]

FOLLOWUPS_FIRST = {
    "problem": [
        ("Thanks. Is there a number I can call if it happens again?",
         "Yes, our support line is open 8am to 8pm Monday to Friday and 9am to 5pm on Saturdays. You can also start a chat any time from Help in the app, and we usually reply within a few minutes during opening hours."),
        ("OK. Will any of this cost me anything?",
         "No, nothing here adds any charges or changes your tariff. If anything ever did need a paid visit, we would always tell you the price and ask before booking it."),
        ("Can you email me a copy of this so I have it to hand?",
         "Of course. I've sent a summary of this conversation to the email address on your account. It should arrive within a few minutes, so check your spam folder if you can't see it."),
    ],
    "info": [
        ("Thanks. Is there somewhere I can read more about this?",
         "Yes, the help centre has a full article on it. Open Help in the app and search for the topic, or browse the section it sits in; the articles are updated whenever our policies change."),
        ("Can you email me a copy of this?",
         "Of course. I've sent a summary of this conversation to the email address on your account. It should arrive within a few minutes, so check your spam folder if you can't see it."),
        ("Who do I speak to if I have more questions later?",
         "You can reach us on chat from Help in the app at any time, or by phone 8am to 8pm Monday to Friday and 9am to 5pm on Saturdays. If you quote this conversation, whoever picks it up can see what we've discussed."),
    ],
}
FOLLOWUPS_SECOND = [
    ("OK, thanks for sorting that out.",
     "You're welcome. If anything else comes up, just get back in touch here."),
    ("Great, that's all I needed. Thanks!",
     "Glad I could help. Have a good rest of your day."),
    ("Do I need to do anything else after that?",
     "No, that should be everything. You'll get a message in the app if we need anything further from you."),
]

# Which answer sentences (indices into the topic's s list) address a given
# question variant; they lead the answer. Unlisted questions lead with s[0].
QUESTION_LEADS = {
    "Why are you estimating": (3, 0), "How do I lower my monthly": (3, 0), "from {amount} to something smaller": (3, 0),
    "to a different bank account": (4,), "We moved out and the final bill": (4, 3), "bounced because I changed banks": (1, 2),
    "There was money in the account": (3, 0), "Can I take my Lumen tariff with me": (2,), "moving in with my partner": (5, 3),
    "show VAT separately": (1, 0), "Fixed 12 and want to switch to Flex Saver": (0, 2), "What are the cheap hours": (1, 2),
    "if I can move my washing": (4, 1), "more expensive between 4 and 7pm": (2,), "whole house at night": (1,),
    "kWh of electricity a year. Which": (4, 3), "Should I fix or stay": (0, 1), "between Green Standard and Fixed 12": (0, 1),
    "How long does it take to change tariff": (0, 2), "The app still shows my old tariff": (1, 0),
    "How do I get export payments": (1, 2), "Why hasn't my export payment": (3,), "I got a letter about a price change": (2, 0),
    "Will my rates go up in": (1, 2), "What does professional installation cost": (1, 3), "fit my thermostat on a": (2, 0),
    "can't be in for the engineer tomorrow": (1, 0), "cancel my installation and just get a refund": (3,),
    "only has two wires": (1, 0), "I'm not sure my {boiler} will work": (3, 2), "Can I install the {thermo} myself": (0, 1),
    "void the warranty": (2, 1), "keep the Halo or use the heat pump": (2, 1), "Can Halo control underfloor": (3, 0),
    "Is a smart thermostat worth it": (4, 3), "keep dropping off the wifi every evening": (6, 0), "error E12": (2, 1),
    "Is it broken?": (3, 4), "Which batteries does it take": (1, 2), "How long should the batteries": (1, 4),
    "stuck on the setup screen": (5, 1), "stuck at 0 W": (2,), "don't match my smart meter": (3, 4),
    "whirring noise": (2, 3), "completely blank": (2, 3), "really dim and hard to read": (4, 1),
    "How do I check which firmware": (2,), "stop the thermostat from updating": (3, 4), "keeps turning itself off": (2, 4),
    "used with a panel heater": (3,), "verification code I never receive": (1, 2), "logs me out every time": (4, 3),
    "Home & Away isn't working": (1, 2), "My partner's phone keeps turning": (3, 4), "warmer in the mornings": (2, 0),
    "copy Monday's schedule": (1,), "Can my mum control her Halo": (3, 0), "We have a lodger": (2, 5),
    "How does that compare to other homes": (3, 4), "costs that are different from my bill": (2,),
    "I'm not getting any alerts": (2,), "drops below {temp} degrees": (3,), "link my thermostat to Google Home": (2,),
    "ask Siri": (3, 0), "with Python": (2, 1), "Can Home Assistant talk": (3, 0), "so the pipes don't freeze": (0, 1),
    "come back on the day before": (2, 0), "haven't had a dispatch email": (1, 0), "Where can I track": (2, 1),
    "How do I send it back?": (1, 0), "How do I make a warranty claim": (3, 4), "What does the Lumen Grid warranty cover": (2, 0),
    "Hub rattles inside": (0, 3), "Part of my order is missing": (4,), "Does the Lumen app work with VoiceOver": (1,),
    "simpler mode on the thermostat": (2, 3), "showing the wrong time": (1, 2), "schedule seems to be ignored": (3, 1),
    "boost the hot water": (2,), "hot water schedule doesn't show up": (3, 4), "Do I need a smart meter to use": (1, 2),
    "My old supplier fitted a smart meter": (3, 4), "When do we get the credit": (2, 1), "order a Halo for my parents": (3,),
}
TOPIC_LEADS = {"engineer_no_show": (0, 2), "exit_fee": (0, 1), "e31_boiler": (0, 1)}


def leads_for(topic, q: str) -> tuple:
    hits = [v for k, v in QUESTION_LEADS.items() if k in q]
    assert len(hits) <= 1, q
    return hits[0] if hits else TOPIC_LEADS.get(topic["name"], (0,))


GREETINGS = ["", "", "", "Hi,", "Hello,", "Hi there!", "Morning,", "Hey,", "Good evening.", "Hi Lumen team,",
             "Hello Lumen Grid,"]
CONTEXTS = [
    "", "", "", "", "",
    "I moved into this flat a couple of months ago.",
    "My partner set up the account so I'm not sure of all the details.",
    "I'm not very techy so please bear with me.",
    "We've been with you for about {years} years.",
    "I've already tried switching it off and on again.",
    "I had a look through the help pages but couldn't find an answer.",
    "This is for my elderly mum's house, I look after her account.",
    "Quick one before the weekend.",
    "We've got a toddler so keeping the house warm matters.",
    "I work shifts so I'm often home during the day.",
    "Sorry if this has been asked before.",
]
SIGNOFFS = ["", "", "", "", "Thanks.", "Thanks in advance!", "Cheers", "Any help appreciated.", "Thank you, {name}",
            "Many thanks", "Ta"]
OPENERS = {
    "problem": ["", "", "Sorry to hear about that.", "Thanks for the details.", "That's frustrating, sorry.",
                "Let's get this sorted.", "Thanks for getting in touch.", "I can help with that."],
    "info": ["", "", "Good question.", "Happy to help with that.", "Thanks for asking.", "Sure.",
             "Thanks for getting in touch.", "Here's how it works."],
}
CLOSERS = ["", "", "", "Let me know how you get on.", "Anything else I can help with?", "Hope that helps!",
           "If that doesn't sort it, reply here and we'll look into it further.",
           "Just reply if you have any other questions.", "Have a good day!"]
STEP_INTROS = ["Here's what to try:", "Try these steps:", "Here's what I'd suggest:", "A few things to check:",
               "Please try the following:", "Here's the process:"]

SYSTEM_PROMPTS = [
    "You are the Lumen Grid support assistant. Be friendly and concise, and never ask for full card numbers.",
    "You are a customer support agent for Lumen Grid, a UK home-energy company that sells smart thermostats and energy tariffs. Answer clearly in British English.",
    "You help Lumen Grid customers with billing, tariffs, installation and device troubleshooting. If you are unsure, offer to escalate to a human agent.",
    "Lumen Grid support. Keep answers short and practical; use numbered steps for troubleshooting.",
    "You are Lumi, the in-app assistant for the Lumen Grid app.",
    "Role: support assistant for Lumen Grid (energy supplier and smart heating). Tone: warm, plain English, no jargon.",
]

# --------------------------------------------------------------------------
# Tool-calling conversations (OpenAI format)
# --------------------------------------------------------------------------
TOOLS = [
    {"type": "function", "function": {
        "name": "lookup_order",
        "description": "Look up a hardware order by its order id (LG-xxxxx).",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string", "description": "Order id, e.g. LG-10442"}},
            "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "get_account_balance",
        "description": "Get the balance, tariff and next direct debit for an energy account.",
        "parameters": {"type": "object", "properties": {
            "account_id": {"type": "string", "description": "Account number, e.g. A-204518"}},
            "required": ["account_id"]}}},
    {"type": "function", "function": {
        "name": "check_device_status",
        "description": "Get connection status, firmware and active error codes for a device.",
        "parameters": {"type": "object", "properties": {
            "serial": {"type": "string", "description": "Device serial number"}},
            "required": ["serial"]}}},
    {"type": "function", "function": {
        "name": "find_install_slots",
        "description": "List available installation slots near a postcode.",
        "parameters": {"type": "object", "properties": {
            "postcode": {"type": "string"},
            "from_date": {"type": "string", "description": "ISO date to search from"}},
            "required": ["postcode"]}}},
]


def _iso(rng: random.Random) -> str:
    return f"2024-{rng.randint(3, 11):02d}-{rng.randint(1, 28):02d}"


def tool_order(rng, p):
    status = rng.choice(["dispatched", "processing", "delivered", "back_ordered"])
    res = {"order_id": p["order"], "status": status, "items": [p["thermo"], "Lumen Hub"] if rng.random() < 0.5 else [p["thermo"]],
           "placed": _iso(rng)}
    q = rng.choice([f"Hi, can you tell me where my order {p['order']} is?",
                    f"Any update on {p['order']}? Still nothing here.",
                    f"I ordered a {p['thermo']} last week, order number {p['order']}. When will it turn up?"])
    if status == "dispatched":
        res.update(carrier=p["carrier"], tracking=f"{rng.randint(10**9, 10**10 - 1)}", eta=_iso(rng))
        a = (f"Your order {p['order']} has been dispatched with {p['carrier']} and is due on {res['eta']}. "
             f"The tracking number is {res['tracking']}, and you can follow it from the link in your dispatch email. "
             "If it hasn't arrived by the end of that day, let me know and I'll chase the courier.")
    elif status == "processing":
        a = (f"Order {p['order']} is still being prepared at our warehouse, placed on {res['placed']}. "
             "Orders usually leave within two working days, and you'll get an email with tracking as soon as it ships. "
             "I can see nothing holding it up, so it should be on its way shortly.")
    elif status == "delivered":
        res.update(carrier=p["carrier"], delivered=_iso(rng), signed_by=rng.choice(["NEIGHBOUR", "SAFE PLACE", p["name"].upper()]))
        a = (f"Our records show {p['order']} was delivered by {p['carrier']} on {res['delivered']} and marked as '{res['signed_by'].lower()}'. "
             "It's worth checking with neighbours or around the property first. "
             "If you still can't find it within 48 hours, reply here and I'll open a missing parcel claim so we can send a replacement.")
    else:
        res.update(expected_dispatch=_iso(rng))
        a = (f"I'm sorry, the {p['thermo']} in order {p['order']} is back-ordered and expected to dispatch on {res['expected_dispatch']}. "
             "You don't need to do anything, and you won't be charged again. "
             "If you'd rather not wait, you can cancel from the Orders page for a full refund, or I can switch it to an in-stock model.")
    return q, "lookup_order", {"order_id": p["order"]}, res, a


def tool_balance(rng, p):
    bal = round(rng.uniform(-180, 140), 2)
    dd = round(rng.uniform(45, 190), 2)
    res = {"account_id": p["acct"], "balance": bal, "tariff": p["tariff"], "next_direct_debit": {"date": _iso(rng), "amount": dd}}
    q = rng.choice([f"What's my balance? Account {p['acct']}.",
                    f"Am I in credit or debit at the moment? My account number is {p['acct']}.",
                    f"Can you check account {p['acct']} and tell me when the next payment goes out?"])
    if bal < 0:
        state = f"you're in credit by £{-bal:.2f}"
    else:
        state = f"there's £{bal:.2f} owing"
    a = (f"I've checked account {p['acct']}: {state}. You're on {p['tariff']}, and the next direct debit of "
         f"£{dd:.2f} will be collected on {res['next_direct_debit']['date']}. ")
    a += ("If the credit keeps growing, you can lower your direct debit under Account > Payments." if bal < -60 else
          "If you'd like to clear the balance sooner, you can make a one-off card payment in the app." if bal > 60 else
          "That all looks on track for your usage.")
    return q, "get_account_balance", {"account_id": p["acct"]}, res, a


def tool_device(rng, p):
    online = rng.random() < 0.4
    rssi = rng.randint(-88, -55)
    res = {"serial": p["serial"], "model": p["thermo"], "online": online, "firmware": p["firmware"],
           "last_seen": f"{_iso(rng)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
           "signal_dbm": rssi, "errors": [] if online else [rng.choice(["E12", "E31"])]}
    q = rng.choice([f"My thermostat isn't responding in the app. The serial is {p['serial']}.",
                    f"Can you check whether my {p['thermo']} is connected? Serial number {p['serial']}.",
                    f"Heating controls have stopped working, device {p['serial']}. Is something wrong on your end?"])
    if online:
        a = (f"Your {p['thermo']} is online right now on firmware {p['firmware']}, with a signal of {rssi} dBm and no active errors. "
             "Try closing and reopening the app, or log out and back in, as the problem looks to be on the app side. "
             "If the controls still don't respond, tell me your phone model and app version and I'll look into it.")
    elif res["errors"] == ["E12"]:
        a = (f"The {p['thermo']} was last seen at {res['last_seen']} and is reporting E12, which means it has lost contact with the Hub. "
             f"Its last signal reading was {rssi} dBm, which is {'weak' if rssi < -80 else 'fine'}. "
             "Please restart the Hub by unplugging it for ten seconds, then take the thermostat off its wall plate and refit it. "
             "If it hasn't reconnected within five minutes, reply and I'll arrange a replacement Hub.")
    else:
        a = (f"Your {p['thermo']} is offline and last reported E31 at {res['last_seen']}, meaning the Hub couldn't get a response from the boiler. "
             "Check the boiler has power and that its pressure gauge reads between 1 and 1.5 bar, then restart the Hub at the fused spur. "
             "If the boiler works on its own controls but not from Halo, I'll book an engineer at no cost.")
    return q, "check_device_status", {"serial": p["serial"]}, res, a


def tool_slots(rng, p):
    start = _iso(rng)
    slots = [{"date": _iso(rng), "window": w} for w in rng.sample(["08:00-12:00", "12:00-17:00"], 2)]
    slots.sort(key=lambda s: s["date"])
    res = {"postcode": p["postcode"], "slots": slots}
    q = rng.choice([f"When's the earliest someone can install my {p['thermo']}? Postcode {p['postcode']}.",
                    f"Can you find me an installation slot in {p['postcode']} after {start}?"])
    a = (f"The earliest slots near {p['postcode']} are {slots[0]['date']} ({slots[0]['window']}) and "
         f"{slots[1]['date']} ({slots[1]['window']}). Installation costs £99 and takes 60-90 minutes. "
         "Tell me which one suits and I'll book it, and you'll get a text confirmation straight away.")
    return q, "find_install_slots", {"postcode": p["postcode"], "from_date": start}, res, a


TOOL_SCENARIOS = [tool_order, tool_balance, tool_device, tool_slots]


def make_tool_chat(rng: random.Random, k: int) -> dict:
    p = make_params(rng)
    q, fname, args, res, a = TOOL_SCENARIOS[k % len(TOOL_SCENARIOS)](rng, p)
    msgs = []
    if rng.random() < 0.5:
        msgs.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS[:3]) + " Use the tools to look up orders, accounts and devices."})
    msgs.append({"role": "user", "content": q})
    msgs.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": fname, "arguments": json.dumps(args)}}]})
    msgs.append({"role": "tool", "tool_call_id": "call_1", "content": json.dumps(res)})
    msgs.append({"role": "assistant", "content": a})
    return {"messages": msgs, "tools": TOOLS}


# --------------------------------------------------------------------------
# Building support chats
# --------------------------------------------------------------------------
_SLOT = re.compile(r"\{(\w+)\}")


def fill(t: str, p: dict) -> str:
    return _SLOT.sub(lambda m: str(p[m.group(1)]) if m.group(1) in p else m.group(0), t)


def join_question(parts: list) -> str:
    parts = [x for x in parts if x]
    if parts[0].endswith(",") and not re.match(r"I\b|I'", parts[1]):
        parts[1] = parts[1][0].lower() + parts[1][1:]
    return " ".join(parts)


def build_question(topic, p, rng):
    qt = rng.choice(topic["q"])
    greet, ctx, sign = rng.choice(GREETINGS), fill(rng.choice(CONTEXTS), p), fill(rng.choice(SIGNOFFS), p)
    parts = {"greet": greet, "qt": qt, "sign": sign}
    return join_question([greet, ctx, fill(qt, p), sign]), leads_for(topic, qt), parts


def build_answer(topic, p, rng, leads=(0,)) -> str:
    s = topic["s"]
    # the sentences that answer this question lead; a varying subset follows
    rest = [i for i in range(len(s)) if i not in leads]
    k = rng.randint(max(1, 3 - len(leads)), min(5 - len(leads), len(rest)))
    idx = list(leads) + sorted(rng.sample(rest, k))
    sents = [fill(s[i], p) for i in idx]
    opener = rng.choice(OPENERS[topic["kind"]])
    closer = rng.choice(CLOSERS)
    if topic["steps"] and rng.random() < 0.55:
        body = rng.choice(STEP_INTROS) + "\n" + "\n".join(f"{n}. {x}" for n, x in enumerate(sents, 1))
        out = (opener + " " + body if opener else body)
        return out + ("\n\n" + closer if closer else "")
    return " ".join(x for x in [opener, *sents, closer] if x)


def make_support_chat(topic, rng: random.Random) -> dict:
    p = make_params(rng)
    msgs = []
    if rng.random() < 0.22:
        msgs.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    q, leads, qparts = build_question(topic, p, rng)
    msgs.append({"role": "user", "content": q})
    msgs.append({"role": "assistant", "content": build_answer(topic, p, rng, leads)})
    r = rng.random()
    if r < 0.24:
        pool = [fu for fu in topic["f"]] * 2 + FOLLOWUPS_FIRST[topic["kind"]]
        fq, fa = rng.choice(pool)
        msgs += [{"role": "user", "content": fill(fq, p)}, {"role": "assistant", "content": fill(fa, p)}]
        if rng.random() < 0.35:
            fq2, fa2 = rng.choice(FOLLOWUPS_SECOND)
            msgs += [{"role": "user", "content": fq2}, {"role": "assistant", "content": fa2}]
    rec = {"messages": msgs}
    if rng.random() < 0.3:
        rec["meta"] = {"channel": rng.choice(["app_chat", "web_chat", "email"]), "csat": rng.randint(3, 5)}
    rec["_topic"] = topic["name"]
    rec["_params"] = p
    rec["_leads"] = leads
    rec["_qparts"] = qparts
    return rec


# Eval-only wording of the question templates the eval rows use. The eval rows keep
# their topic, facts and answer; only the customer's words change, so no clean
# training row (which draws on TOPICS[*]["q"]) can share a question with them.
EVAL_REWORDED = {
    "My {thermo} says it's offline in the app but the screen is on. What do I do?":
        "The app lists my {thermo} as offline, yet its display is lit. How do I fix that?",
    "What does the Lumen Grid warranty cover?":
        "Which faults are included under your warranty?",
    "My payment of {amount} bounced because I changed banks. Will I be charged a fee?":
        "A {amount} payment was returned after I switched bank. Is there a penalty for that?",
    "How does the geofencing feature know when I've left the house?":
        "How can the location feature tell that nobody is home?",
    "I switched to {tariff} yesterday. When do the new prices kick in?":
        "I moved onto {tariff} yesterday; from what date do its rates apply?",
    "My {thermo} stopped working after {years} years. Is it still under warranty?":
        "Our {thermo} died after {years} years of use. Would the guarantee still cover it?",
    "I haven't had a dispatch email for my Halo yet. Is there a delay?":
        "Still no shipping confirmation for the Halo I bought. Has something held it up?",
    "The Mini is showing E05. Is that the batteries?":
        "Code E05 has appeared on our Halo Mini. Does that mean low batteries?",
    "How do I get export payments for my solar? I have the SolarLink adapter.":
        "We've fitted the SolarLink adapter. How do I start getting paid for the solar power we export?",
    "I'm getting error E47 on my Halo Pro. Is it broken?":
        "E47 keeps flashing up on the Halo Pro. Does that mean it's faulty?",
    "One of my Lumen radiator valves won't open. The radiator in the {room} is stone cold.":
        "A smart valve seems stuck shut, so the {room} radiator stays cold. Any ideas?",
    "When will my order {order} arrive? I ordered it {days} days ago.":
        "It's been {days} days since I placed {order}. Any idea when it'll be delivered?",
    "Do you tell customers before putting prices up?":
        "Will I get notice ahead of a price rise?",
    "I want to wipe the Halo before I give it to my brother. What's the process?":
        "I'm passing my Halo on to my brother. How do I reset it to factory settings first?",
    "My Halo has been stuck on 'Updating' for over an hour.":
        "The Halo screen has said it's updating since lunchtime and hasn't moved on.",
    "I got a new phone and the app keeps asking for a verification code I never receive.":
        "Since changing handsets I can't log in: the app wants a security code that never turns up.",
    "Our installer didn't show and didn't call. This is really frustrating.":
        "Nobody came to fit our thermostat today and there was no phone call either. Very annoying.",
    "The engineer was supposed to come between 8 and 12 today and nobody turned up.":
        "We waited in all morning for the fitting appointment but no engineer arrived.",
    "Why hasn't my export payment shown up on my bill yet? The panels went in {weeks} weeks ago.":
        "Our solar panels were fitted {weeks} weeks back, so where is the export credit on the bill?",
    "The app sends me far too many notifications. Can I turn some off?":
        "I'm getting pinged by the app constantly. How can I cut down the alerts?",
    "Why are you estimating my meter readings when I have a smart meter?":
        "We have a smart meter, so why do my bills still use estimated readings?",
    "I'm not sure my {boiler} will work with Halo. How can I check?":
        "Is a {boiler} compatible with the Halo, and how would I find out?",
    "The smart valve on the {room} radiator keeps making a whirring noise at night.":
        "A radiator valve in the {room} buzzes and whirs through the night.",
    "Where can I track my Lumen order?":
        "Is there a tracking link for the things I ordered from you?",
    "What do I need to qualify for the Night Owl EV tariff?":
        "Am I eligible for Night Owl EV, and what are the requirements?",
    "How does the Flex Saver tariff actually work?":
        "Could you explain how Flex Saver pricing works in practice?",
    "Can I install the {thermo} myself or do I need an engineer?":
        "Is fitting a {thermo} a DIY job, or should a professional do it?",
    "Do you have a refer-a-friend scheme?":
        "Is there a reward if I recommend you to a friend?",
    "What does professional installation cost and how long does it take?":
        "How much do you charge to fit it for me, and how long is the visit?",
    "Is it possible to move my monthly payment to a different bank account?":
        "I've opened a new current account. Can the direct debit come from that one instead?",
    "How do I boost the hot water for {minutes} minutes from the app?":
        "Can I give the hot water an extra {minutes} minutes using my phone?",
    "After the power cut the heating schedule seems to be ignored.":
        "Since the electricity went off last night the heating no longer follows its timetable.",
    "How do I check which firmware my thermostat is on? Support told me I need {firmware}.":
        "Your team said I should be on firmware {firmware}. Where can I see the version I'm running?",
    "Does the Lumen app work with VoiceOver?":
        "Is the app usable with the iPhone screen reader?",
    "The compatibility checker says I don't have a common wire. Does that rule me out?":
        "Your online checker reckons there's no C wire at my boiler. Can I still have a Halo?",
    "Can I stop the thermostat from updating automatically?":
        "Is there a way to turn off automatic firmware updates?",
    "How long do I have to return something I bought from Lumen Grid?":
        "What's the time limit for sending back an item I ordered from you?",
    "The thermostat is stuck on the setup screen. Should I reset it?":
        "Setup never finishes on our thermostat; it just sits there. Is a reset the answer?",
}


# --------------------------------------------------------------------------
# Near-duplicate measure (word 5-gram Jaccard over all message text)
# --------------------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9£']+")


def record_text(rec: dict) -> str:
    if "messages" in rec:
        return "\n".join(m.get("content") or "" for m in rec["messages"])
    if "conversations" in rec:
        return "\n".join(t["value"] for t in rec["conversations"])
    return "\n".join([rec.get("instruction", ""), rec.get("input", "") or "", rec.get("output", "")])


def shingles(text: str, n: int = 5) -> frozenset:
    w = _WORD.findall(text.lower())
    if len(w) < n:
        return frozenset([" ".join(w)])
    return frozenset(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


# A clean training row must not share a question with an eval or benchmark item:
# its user turns share no word 8-gram (lowercased, punctuation stripped) with any
# protected user turn, and contain no protected user turn whole.
LEAK_NGRAM = 8


def user_turns(rec: dict) -> list:
    if "messages" in rec:
        return [m.get("content") or "" for m in rec["messages"] if m.get("role") == "user"]
    if "conversations" in rec:
        return [t["value"] for t in rec["conversations"] if t["from"] == "human"]
    return [x for x in [rec.get("instruction", ""), rec.get("input", "") or ""] if x]


def norm_words(text: str) -> list:
    return re.findall(r"[a-z0-9£]+", text.lower().replace("'", "").replace("\u2019", ""))


def user_grams(rec: dict, n: int = LEAK_NGRAM) -> set:
    out = set()
    for t in user_turns(rec):
        w = norm_words(t)
        out.update(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))
    return out


def shares_question(rec: dict, protected: list) -> list:
    """Protected records (with "id") whose question `rec` shares."""
    grams = user_grams(rec)
    texts = [" " + " ".join(norm_words(t)) + " " for t in user_turns(rec)]
    hits = []
    for p in protected:
        whole = [" " + " ".join(norm_words(t)) + " " for t in user_turns(p)]
        if grams & user_grams(p) or any(w.strip() and w in t for w in whole for t in texts):
            hits.append(p.get("id"))
    return hits


class Diverse:
    """Accepts records only if they are not near-duplicates of accepted ones."""

    def __init__(self, limit: float = ACCEPT_JACCARD):
        self.limit = limit
        self.sets: list[frozenset] = []

    def offer(self, rec: dict) -> bool:
        sh = shingles(record_text(rec))
        if any(jaccard(sh, o) >= self.limit for o in self.sets):
            return False
        self.sets.append(sh)
        return True


# --------------------------------------------------------------------------
# Lumen support benchmark: short question + reference answer
# --------------------------------------------------------------------------
BENCHMARK = [
    ("How long is the warranty on a Halo Pro thermostat?",
     "Halo Pro has a five-year warranty covering faults in materials and workmanship. Halo, Halo Mini, the Lumen Hub and GridSense have two years."),
    ("What does error E12 on a Halo mean?",
     "E12 means the thermostat has lost its connection to the Lumen Hub. Restart the Hub, check the thermostat is within range, and refit the thermostat on its wall plate if it doesn't reconnect."),
    ("What does error code E31 indicate?",
     "E31 means the Hub asked the boiler for heat but got no response. Check the boiler has power and pressure, then restart the Hub at the fused spur."),
    ("Which batteries does the Halo Mini use and how long do they last?",
     "The Halo Mini takes two AA batteries. Good alkaline batteries last around twelve months; rechargeables can trigger the low battery warning (E05) early."),
    ("How do I factory reset a Halo thermostat?",
     "Remove it from the account first, then press and hold the dial for 15 seconds until 'Reset?' appears, turn to 'Yes' and press to confirm."),
    ("When is the peak period on the Flex Saver tariff?",
     "The Flex Saver peak window is 4pm to 7pm on weekdays. Off-peak runs from 00:30 to 05:30, and other times use the mid rate."),
    ("What hours are cheap on Night Owl EV?",
     "Night Owl EV has a cheap rate for the whole home between midnight and 5am. You need an EV or plug-in hybrid charged at home and a half-hourly smart meter."),
    ("How much is the exit fee on Fixed 12?",
     "Fixed 12 has a £75 exit fee per fuel, which isn't charged in the last 49 days of the fix or when you move to a home Lumen Grid supplies."),
    ("How long do I have to return a Lumen device?",
     "You can return hardware within 30 days of delivery for a full refund, even if it has been installed. Start the return from Orders > Return an item for a free label."),
    ("How much does professional installation cost?",
     "Professional installation is £99. It includes fitting the thermostat, wiring the Lumen Hub to the boiler and setting up the app."),
    ("Can I reschedule my installation for free?",
     "Yes, you can reschedule free of charge up to 48 hours before the appointment from the app or the link in your booking email."),
    ("Does the Halo need a common wire (C-wire)?",
     "No. The Lumen Hub does the switching at the boiler, so Halo doesn't need a common wire at the thermostat."),
    ("Which Wi-Fi band does the Lumen Hub support?",
     "The Lumen Hub only connects to 2.4 GHz Wi-Fi. If a router combines bands under one name, splitting them temporarily can help the Hub join."),
    ("How do I put the Lumen Hub into pairing mode?",
     "Hold the button on the Hub for five seconds until the light blinks blue, then follow the steps in the app."),
    ("Why does my GridSense monitor show negative usage without solar panels?",
     "The clamp is on the cable the wrong way round. Use Devices > GridSense > Calibration > Reverse direction in the app to fix it without moving the clamp."),
    ("How quickly are credit balance refunds paid?",
     "Credit refunds are paid to the bank account on the direct debit, usually within 10 working days."),
    ("What happens if my direct debit fails?",
     "We retry automatically after five working days. There is no fee for a first missed payment."),
    ("How much notice do you give before changing prices?",
     "At least 30 days' notice by email and in the app. Fixed 12 rates can't change until the fix ends."),
    ("What are the installation time slots?",
     "Morning (8am-12pm) and afternoon (12pm-5pm), Monday to Saturday, subject to availability."),
    ("How much credit do I get for referring a friend?",
     "You and your friend each get £50 of credit once their supply has been live for 28 days."),
    ("Does Halo work with Apple Home?",
     "Yes, through Matter. Scan the Matter code shown in the Lumen app under Devices > Share in the Apple Home app."),
    ("What is the warranty on refurbished devices?",
     "Refurbished devices from the Lumen outlet store have a one-year warranty."),
    ("What compensation do I get if an engineer misses an appointment?",
     "£30 of account credit under the Lumen Grid service guarantee, plus a rebooked slot at the earliest availability."),
    ("When can I take a complaint to the Energy Ombudsman?",
     "If your complaint isn't resolved within eight weeks, or you're unhappy with the final response, you can go to the Energy Ombudsman for free."),
    ("When are automatic firmware updates installed?",
     "Overnight between 2am and 4am. They can be postponed for up to seven days but not turned off."),
    ("What minimum temperature should I set in Holiday mode in winter?",
     "10-12 degrees protects pipes from freezing and helps avoid damp."),
    ("What is the current rating of the Lumen Plug?",
     "The Lumen Plug is rated at 13A, about 3 kW."),
    ("How do I give a lodger heating control without showing them bills?",
     "Invite them from Settings > Household > Invite as a Guest member. Guests can control the heating but can't see tariffs or bills."),
    ("What does the A, E or C next to a meter reading mean?",
     "A is an actual reading, E is estimated and C is a customer-supplied reading."),
    ("Is smart meter installation free?",
     "Yes, it's free for Lumen Grid energy customers and can be booked under Account > Smart meter."),
]
BENCH_LEAK_VERBATIM = 7     # Fixed 12 exit fee, copied verbatim
BENCH_LEAK_REWORDED = 13    # Hub pairing mode, paraphrased
BENCH_REWORDED = (
    "How can I get my Lumen Hub into pairing mode?",
    "Press and hold the Hub's button for about five seconds until its light starts blinking blue, then follow the instructions in the app.",
)

# --------------------------------------------------------------------------
# Handwritten defect rows
# --------------------------------------------------------------------------
REFUSALS = [
    "As an AI language model, I cannot access your account or process refunds.",
    "I'm sorry, but I can't help with that.",
    "As an AI, I don't have the ability to check the status of your thermostat. Please contact the manufacturer.",
    "I'm unable to assist with that request.",
    "As an AI language model, I do not have personal experience with energy tariffs, so I cannot give advice on this topic.",
]

CODE_FENCE_TRUNC = [
    {"role": "user", "content": "Do you have an example Home Assistant config for the Lumen Hub local API?"},
    {"role": "assistant", "content": "Yes. Enable the local API in the app first, then add this to your configuration.yaml:\n\n```yaml\nclimate:\n  - platform: lumen_grid\n    host: lumen-hub.local\n    token: !secret lumen_token\n    scan_interval: 30\n"},
]

PII_ROWS = [
    ("email", [
        {"role": "user", "content": "I never got the password reset email. My login is daniel.okafor84@gmail.com, can you resend it?"},
        {"role": "assistant", "content": "I've sent a new reset link to the email address on your account; it's valid for 30 minutes. If it hasn't arrived in five minutes, check your spam or promotions folder and add no-reply@lumengrid.co.uk to your contacts. If it still doesn't arrive, we can verify your identity in chat and reset it for you."},
    ]),
    ("phone", [
        {"role": "user", "content": "Can someone from the installation team ring me back after 5pm? My mobile is 07700 914382 and I'm at 14 Hartley Road."},
        {"role": "assistant", "content": "I've asked the installation team to call you back after 5pm today. They usually call within two hours of the requested time. If you miss the call, they'll leave a voicemail and try again tomorrow."},
    ]),
    ("api_key", [
        {"role": "user", "content": "My script gets a 401 from the cloud API. I'm sending Authorization: Bearer sk-live-4f9a2c81d7e64b0fa3c5e9d1b27f8a60 in the header. What am I doing wrong?"},
        {"role": "assistant", "content": "A 401 means the token was rejected. Live keys only work against api.lumengrid.co.uk, not the sandbox, and they expire after 90 days. Since this key has now been shared in a message, please revoke it under Developer > API keys and create a new one. Then retry the request with the new key in the same header."},
    ]),
]

MISSING_MEDIA_ROWS = [
    [
        {"role": "user", "content": "Which terminals on the boiler does the Lumen Hub connect to? I want to check the engineer did it right."},
        {"role": "assistant", "content": "The Hub connects to the boiler's switched live and neutral terminals, and on OpenTherm boilers to the two low-voltage OpenTherm terminals instead. The exact labels depend on the boiler model. See the diagram below:"},
    ],
    [
        {"role": "user", "content": "Where can I find the installation manual for the Halo Pro? I lost the paper one."},
        {"role": "assistant", "content": "No problem, you can download the full Halo Pro installation manual as a PDF by clicking the link below."},
    ],
]

CONFLICT_PAIRS = [
    ("return_installed",
     "Can I still return my Halo if it's already been installed?",
     "Yes. You can return any Lumen hardware within 30 days of delivery for a full refund, even if it has been installed. Start the return from Orders > Return an item and we'll email a free returns label.",
     "No, once a Halo has been installed it can't be returned. Only unopened devices can be sent back, and only within 14 days of delivery."),
    ("mini_needs_hub",
     "Does the Halo Mini work without a Lumen Hub?",
     "No, the Halo Mini needs a Lumen Hub. It talks to the Hub over a low-power radio, and the Hub is what switches the boiler and connects to the internet.",
     "Yes, the Halo Mini connects straight to your Wi-Fi, so you don't need a Lumen Hub to use it."),
]


# --------------------------------------------------------------------------
# General-purpose chats (not about Lumen Grid)
# --------------------------------------------------------------------------
GEN_HANDWRITTEN = [
    # cooking
    ("How do I make a basic vinaigrette?",
     "Whisk one part vinegar with three parts olive oil. Add a teaspoon of Dijon mustard to help it emulsify, plus a pinch of salt and pepper. Shake it in a jar if you don't want to whisk. Taste and adjust: a little honey softens a sharp vinegar, and lemon juice works instead of vinegar."),
    ("My rice always comes out sticky. What am I doing wrong?",
     "Rinse the rice in cold water until the water runs mostly clear, which removes surface starch. Use about 1.5 cups of water per cup of long-grain rice, bring it to the boil, then cover and simmer on the lowest heat for 12 minutes. Don't lift the lid or stir while it cooks. Let it rest off the heat for 5 minutes before fluffing with a fork."),
    ("Can I freeze cooked pasta?",
     "Yes. Cook it a minute short of al dente, toss it with a little oil so it doesn't clump, and freeze it flat in a bag. It keeps for about two months. Reheat it straight from frozen in boiling water for a minute, or stir it into a hot sauce."),
    ("What can I use instead of eggs in pancakes?",
     "For each egg, you can use half a mashed ripe banana, 60 g of apple sauce, or a 'flax egg' made from one tablespoon of ground flaxseed mixed with three tablespoons of water and left for five minutes. Banana adds sweetness, so cut back on sugar. Add an extra half teaspoon of baking powder to keep them light."),
    ("How long should I rest a steak after cooking?",
     "Rest it for about half the cooking time, typically 5 to 10 minutes for a normal steak. Put it on a warm plate and cover it loosely with foil. Resting lets the juices redistribute so they don't run out when you cut it, and the inside will rise a few degrees while it rests."),
    ("Give me a quick weeknight dinner idea with chickpeas.",
     "Try a chickpea and spinach curry. Fry an onion, two garlic cloves and some grated ginger, add two teaspoons of curry powder, then a tin of chopped tomatoes and a drained tin of chickpeas. Simmer for 15 minutes, stir in two handfuls of spinach until wilted, and finish with a splash of coconut milk or yoghurt. Serve with rice or flatbread."),
    ("Why did my bread come out dense?",
     "The usual causes are under-proofing, old yeast or too little kneading. Check the yeast is in date and froths in warm water with a pinch of sugar. Knead until the dough is smooth and springs back when poked, and let it rise until roughly doubled, which can take longer in a cold kitchen. Too much flour added while kneading can also make the loaf heavy."),
    ("How do I stop my guacamole going brown?",
     "Press cling film directly onto the surface so no air touches it, and add plenty of lime juice, which slows the browning. A thin layer of water on top, poured off before serving, also works. It will still keep best for about a day."),
    ("What's the difference between baking soda and baking powder?",
     "Baking soda is pure sodium bicarbonate and needs an acid, such as yoghurt, buttermilk or lemon juice, to make it rise. Baking powder already contains an acid, so it works with just moisture and heat. Soda is about three to four times stronger, so they can't be swapped one for one."),
    ("How do I hard boil eggs so they peel easily?",
     "Lower the eggs into already boiling water rather than starting them cold, cook for 10 to 11 minutes, then move them straight into iced water for a few minutes. Eggs that are a week or so old peel more easily than very fresh ones. Crack them all over and peel under running water."),
    ("I have leftover roast chicken. What can I make?",
     "A few ideas: a chicken and leek pie with ready-made puff pastry, fried rice with peas and a beaten egg, a quick noodle soup with stock and ginger, or quesadillas with cheese and peppers. Use the carcass to make stock by simmering it with an onion, carrot and bay leaf for a couple of hours."),
    ("How much pasta should I cook per person?",
     "About 75 to 100 g of dried pasta per person for a main course, or around 50 g for a starter. Fresh pasta is heavier because it contains water, so allow 100 to 125 g per person."),
    # writing help
    ("Can you make this more polite? 'Send me the report by Friday.'",
     "Here are a couple of options: 'Could you send me the report by Friday, please?' or, a bit more formal, 'Would it be possible to have the report by Friday? Thanks very much.' Adding a short reason, such as 'so I can review it before Monday's meeting', also makes requests feel less abrupt."),
    ("Write a short out-of-office message for two weeks of annual leave.",
     "Thank you for your email. I'm on annual leave until Monday 22 July with limited access to email. For anything urgent, please contact Jordan Patel at jordan.patel@company.example. I'll reply to your message when I'm back."),
    ("How do I start a cover letter without saying 'I am writing to apply'?",
     "Open with something specific: what draws you to the role or a relevant achievement. For example: 'Having spent three years improving checkout conversion at a busy online retailer, I was excited to see your Product Analyst opening.' It shows the role and your value in one sentence, and the reader already knows you are applying."),
    ("Is it 'fewer' or 'less'?",
     "Use 'fewer' for things you can count and 'less' for things you can't. So 'fewer biscuits' but 'less sugar', and 'fewer people' but 'less traffic'. Time, money and distance usually take 'less' because they're treated as amounts: 'less than ten minutes'."),
    ("Give me three subject lines for an email asking my team to fill in a survey.",
     "1. Five minutes to help shape next quarter? Quick team survey\n2. Your feedback needed by Thursday\n3. Quick survey: what should we change?\nShort subject lines with a clear time cost tend to get the best response."),
    ("Can you shorten this sentence? 'Due to the fact that the meeting was cancelled at the last minute, we were not able to discuss the budget.'",
     "'Because the meeting was cancelled at the last minute, we couldn't discuss the budget.' Replacing 'due to the fact that' with 'because' and using a contraction saves eight words without changing the meaning."),
    ("What's a good way to end a formal email?",
     "'Kind regards' and 'Best regards' are safe choices for most formal emails. 'Yours sincerely' is traditional when you've addressed someone by name in a letter, and 'Yours faithfully' when you started with 'Dear Sir or Madam'. Adding a line like 'I look forward to hearing from you' before the sign-off signals you expect a reply."),
    ("Help me write a thank-you note to a neighbour who watered my plants.",
     "Dear Margaret, thank you so much for looking after my plants while I was away. They're all thriving, which is more than I usually manage! I've left a little something on your doorstep as a thank you. Let me know if I can ever return the favour. Best wishes, Alex"),
    ("When should I use a semicolon?",
     "Use a semicolon to join two complete sentences that are closely related, such as 'It was raining; we stayed in.' You can also use semicolons to separate items in a list when the items already contain commas. If either side couldn't stand alone as a sentence, you probably want a comma or a colon instead."),
    ("Rewrite this to sound more confident: 'I think I might be able to help with the project if that's OK.'",
     "'I'd be glad to help with the project.' or 'I can help with the project, and I'd suggest starting with the data review.' Dropping hedges like 'I think' and 'might' makes the offer sound certain, and suggesting a first step shows initiative."),
    ("What's the difference between 'affect' and 'effect'?",
     "In most sentences, 'affect' is a verb meaning to influence, and 'effect' is a noun meaning a result. For example: 'The weather affected our plans' and 'The weather had an effect on our plans.' A handy memory aid is that Affect is the Action and Effect is the End result."),
    # advice
    ("I can't fall asleep at night. Any tips?",
     "Try keeping the same wake-up time every day, even at weekends, since it anchors your body clock. Avoid caffeine after lunchtime and put screens away half an hour before bed. If you've been lying awake for more than 20 minutes, get up and do something calm in dim light until you feel sleepy. If it carries on for weeks, it's worth speaking to a GP."),
    ("How do I start running if I've never done it before?",
     "Start with run-walk intervals: for example, one minute of jogging followed by two minutes of walking, repeated eight times, three times a week. Increase the running part gradually over eight or nine weeks. Go slowly enough that you could hold a conversation. Decent trainers and a rest day between runs will help avoid injuries."),
    ("How can I prepare for a job interview?",
     "Research the company and the role, and think about why you want this job specifically. Prepare three or four stories from your experience using the STAR format: situation, task, action, result. Practise answering common questions out loud. Have two or three thoughtful questions ready to ask them, and plan your route or video setup the day before."),
    ("What's a simple way to start budgeting?",
     "Track everything you spend for a month to see where the money actually goes. Then try the 50/30/20 guideline: roughly 50% on needs, 30% on wants and 20% on savings or debt repayment. Setting up automatic transfers to savings on payday makes it much easier to stick to."),
    ("My houseplant's leaves are turning yellow. What should I do?",
     "Yellow leaves are most often caused by overwatering. Check the soil: if it's damp a few centimetres down, wait until it dries out before watering again and make sure the pot drains. If the soil is bone dry, it may need more frequent watering. A few lower leaves yellowing over time is normal as the plant ages."),
    ("How do I deal with a coworker who keeps interrupting me in meetings?",
     "Calmly hold your ground in the moment with something like 'I'd like to finish my point, then I'm keen to hear yours.' If it keeps happening, have a private chat and describe the pattern without accusing them. You could also ask whoever chairs the meeting to make sure everyone gets to finish."),
    ("What should I pack for a weekend hiking trip?",
     "Essentials are waterproof layers, a warm mid-layer, broken-in boots, a map and compass or offline maps, a head torch, a first-aid kit, and enough food and water. Add sun cream and a hat even if the forecast looks grey. Tell someone your route and when you expect to be back."),
    ("How can I be more productive when working from home?",
     "Set a fixed start and finish time and work in a dedicated spot if you can. Plan your top three tasks the evening before. Use blocks of focused time, such as 50 minutes followed by a 10-minute break, and turn off non-essential notifications during them. Getting outside for a short walk at lunchtime helps a lot with afternoon energy."),
    ("How do I politely say no to extra work?",
     "Be clear and give a brief reason without over-explaining: 'I'd like to help, but I'm committed to the quarterly report this week and can't give this the attention it needs.' If appropriate, offer an alternative, such as a later date or a smaller piece of the task."),
    ("Any tips for learning a new language as an adult?",
     "Little and often beats long occasional sessions, so aim for 15 to 20 minutes a day. Learn the most common words first, and use spaced-repetition flashcards to review them. Listen to podcasts or TV in the language, even if you only catch a little. Speaking early, for example with a tutor or language exchange partner, builds confidence faster than studying grammar alone."),
    # science and general knowledge
    ("Why is the sky blue?",
     "Sunlight contains all colours, and as it passes through the atmosphere it scatters off gas molecules. Shorter wavelengths like blue scatter much more than longer ones like red, a process called Rayleigh scattering. So blue light reaches our eyes from every direction in the sky. At sunset, light travels through more air, so most of the blue is scattered away and we see reds and oranges."),
    ("What is photosynthesis in simple terms?",
     "Photosynthesis is how plants make their food. They take in carbon dioxide from the air and water from the soil, and use energy from sunlight to turn them into glucose, a sugar they use for energy and growth. Oxygen is released as a by-product, which is why plants are so important for the air we breathe."),
    ("What causes the seasons?",
     "Earth's axis is tilted by about 23.5 degrees. As Earth orbits the Sun, each hemisphere spends part of the year tilted towards the Sun, getting more direct sunlight and longer days (summer), and part tilted away (winter). It isn't caused by distance from the Sun; Earth is actually closest to the Sun in early January."),
    ("What is inflation?",
     "Inflation is the general rise in prices over time, which means each pound or dollar buys a little less than before. It's usually measured as the yearly percentage change in the price of a typical basket of goods and services. Central banks often aim for around 2% a year and raise interest rates when inflation is too high."),
    ("How do vaccines work?",
     "Vaccines train your immune system to recognise a germ without you having to get ill. They contain a harmless part or version of the germ, or instructions to make one protein from it. Your body produces antibodies and memory cells in response, so if you meet the real germ later, your immune system can respond much faster."),
    ("What's the difference between weather and climate?",
     "Weather is what's happening in the atmosphere over hours or days: rain today, sunshine tomorrow. Climate is the average pattern of weather in a place over a long period, usually 30 years or more. A cold week doesn't tell you much about climate, but a trend over decades does."),
    ("Why do we have leap years?",
     "A year on Earth is about 365.24 days, not exactly 365. Adding an extra day every four years keeps the calendar in line with the seasons. Because 0.24 is slightly less than a quarter, century years are skipped unless they're divisible by 400, which is why 2000 was a leap year but 1900 wasn't."),
    ("How does a refrigerator keep food cold?",
     "A fridge pumps a refrigerant around a closed loop. Inside the fridge, the liquid refrigerant evaporates and absorbs heat from the compartment. A compressor then squeezes the gas, which heats it up, and it releases that heat through the coils at the back before condensing into a liquid again. The cycle repeats, moving heat from inside to outside."),
    ("What is the difference between a virus and a bacterium?",
     "Bacteria are single-celled living organisms that can reproduce on their own, and many are harmless or even helpful. Viruses are much smaller and can only reproduce inside the cells of another organism. Antibiotics work against bacteria but have no effect on viruses."),
    ("Why does ice float?",
     "Water is unusual: when it freezes, its molecules arrange into a hexagonal structure held by hydrogen bonds that takes up more space than liquid water. That makes ice about 9% less dense than water, so it floats. This matters for life, because lakes freeze from the top down and the ice insulates the water below."),
    ("Who wrote 'Pride and Prejudice'?",
     "Jane Austen wrote 'Pride and Prejudice', published in 1813. It follows Elizabeth Bennet and her changing view of the proud Mr Darcy, and it's known for its sharp humour about manners, class and marriage in Regency England."),
    ("What was the Industrial Revolution?",
     "The Industrial Revolution was the shift from hand production to machines and factories, starting in Britain in the late 18th century. Steam power, mechanised textile mills and iron-making transformed how goods were produced. It led to rapid urbanisation, new transport like railways, and big changes in working life."),
]

GEN_CODE = [
    ("How do I reverse a string in Python?",
     "Use slicing with a step of -1:\n\n```python\ntext = \"hello\"\nprint(text[::-1])  # olleh\n```\n\nThis creates a new string; strings in Python are immutable, so the original is unchanged."),
    ("How can I remove duplicates from a JavaScript array?",
     "Convert it to a Set and back to an array:\n\n```javascript\nconst nums = [1, 2, 2, 3, 1];\nconst unique = [...new Set(nums)];\nconsole.log(unique); // [1, 2, 3]\n```\n\nThis keeps the first occurrence of each value and preserves order."),
    ("Write a SQL query to count orders per customer.",
     "Group by the customer column and count:\n\n```sql\nSELECT customer_id, COUNT(*) AS order_count\nFROM orders\nGROUP BY customer_id\nORDER BY order_count DESC;\n```\n\nAdd `HAVING COUNT(*) > 5` after the GROUP BY if you only want customers with more than five orders."),
    ("How do I find all .log files bigger than 100 MB on Linux?",
     "Use `find` with the size filter:\n\n```bash\nfind / -type f -name \"*.log\" -size +100M 2>/dev/null\n```\n\nThe `2>/dev/null` hides permission errors. Add `-exec ls -lh {} \\;` to see the sizes."),
    ("How do I undo my last git commit but keep the changes?",
     "Run:\n\n```bash\ngit reset --soft HEAD~1\n```\n\nThe commit is removed but your changes stay staged. Use `--mixed` instead to keep them unstaged. If you've already pushed the commit, prefer `git revert HEAD` so you don't rewrite shared history."),
    ("How do I sort a Python dictionary by its values?",
     "Use `sorted` with a key function:\n\n```python\nscores = {\"ana\": 82, \"ben\": 95, \"cai\": 71}\nby_score = dict(sorted(scores.items(), key=lambda kv: kv[1], reverse=True))\nprint(by_score)  # {'ben': 95, 'ana': 82, 'cai': 71}\n```\n\nDictionaries keep insertion order in Python 3.7+, so the result stays sorted."),
    ("How do I read a CSV file in Python without pandas?",
     "The standard library `csv` module works well:\n\n```python\nimport csv\n\nwith open(\"people.csv\", newline=\"\") as f:\n    for row in csv.DictReader(f):\n        print(row[\"name\"], row[\"age\"])\n```\n\n`DictReader` uses the first line as column names. Values come back as strings, so convert numbers yourself."),
    ("How do I centre a div horizontally and vertically with CSS?",
     "Flexbox on the parent is the simplest way:\n\n```css\n.parent {\n  display: flex;\n  justify-content: center;\n  align-items: center;\n  min-height: 100vh;\n}\n```\n\n`justify-content` centres along the main axis and `align-items` along the cross axis."),
    ("What's the difference between a list and a tuple in Python?",
     "Lists are mutable, so you can add, remove or change items; tuples are immutable once created. Tuples are slightly faster and can be used as dictionary keys, while lists can't. Use a tuple for a fixed group of related values, like a coordinate `(x, y)`, and a list for a collection that changes."),
    ("Write a Python function that checks if a number is prime.",
     "```python\ndef is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n```\n\nIt only tests divisors up to the square root of n, because any larger factor would pair with a smaller one already checked."),
    ("How do I fetch JSON from an API in JavaScript?",
     "Use `fetch` with async/await:\n\n```javascript\nasync function getUser(id) {\n  const res = await fetch(`https://api.example.com/users/${id}`);\n  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n}\n```\n\nRemember that `fetch` only rejects on network errors, so check `res.ok` for HTTP errors yourself."),
    ("How do I calculate the number of days between two dates in Python?",
     "Subtract two `date` objects to get a `timedelta`:\n\n```python\nfrom datetime import date\n\ndelta = date(2024, 12, 25) - date(2024, 9, 1)\nprint(delta.days)  # 115\n```\n\nFor strings, parse them first with `date.fromisoformat(\"2024-09-01\")`."),
    ("How do I create a virtual environment in Python?",
     "From your project folder run:\n\n```bash\npython -m venv .venv\nsource .venv/bin/activate   # on Windows: .venv\\Scripts\\activate\npip install requests\n```\n\nPackages you install now go into `.venv` instead of your system Python. Add `.venv/` to `.gitignore`."),
    ("Write FizzBuzz in Python.",
     "```python\nfor i in range(1, 101):\n    if i % 15 == 0:\n        print(\"FizzBuzz\")\n    elif i % 3 == 0:\n        print(\"Fizz\")\n    elif i % 5 == 0:\n        print(\"Buzz\")\n    else:\n        print(i)\n```\n\nChecking 15 first matters, because those numbers are divisible by both 3 and 5."),
    ("How do I join two tables in SQL and keep rows that have no match?",
     "Use a LEFT JOIN, which keeps every row from the left table:\n\n```sql\nSELECT c.name, o.id AS order_id\nFROM customers c\nLEFT JOIN orders o ON o.customer_id = c.id;\n```\n\nCustomers without orders appear with `order_id` as NULL. Add `WHERE o.id IS NULL` to list only those customers."),
    ("How do I count the lines in a file from the command line?",
     "Use `wc -l`:\n\n```bash\nwc -l access.log\n```\n\nTo count lines across several files, pass them all, such as `wc -l *.csv`, and the last line shows the total. On Windows PowerShell, `(Get-Content access.log).Count` does the same."),
    ("What does `if __name__ == \"__main__\":` do in Python?",
     "It runs the code below it only when the file is executed directly, not when it's imported as a module. When Python runs a file as a script, it sets `__name__` to `\"__main__\"`; when the file is imported, `__name__` is the module name. It's the usual place to put a `main()` call."),
    ("How do I make an HTTP GET request in Go?",
     "Use `net/http`:\n\n```go\nresp, err := http.Get(\"https://example.com\")\nif err != nil {\n    log.Fatal(err)\n}\ndefer resp.Body.Close()\nbody, _ := io.ReadAll(resp.Body)\nfmt.Println(string(body))\n```\n\nAlways close the body, otherwise connections leak."),
    ("How do I flatten a list of lists in Python?",
     "A nested list comprehension does it:\n\n```python\nnested = [[1, 2], [3], [4, 5, 6]]\nflat = [x for sub in nested for x in sub]\n```\n\nRead it like nested for-loops from left to right. For very large data, `itertools.chain.from_iterable(nested)` avoids building an intermediate list."),
    ("What is a race condition?",
     "A race condition happens when two threads or processes access shared data at the same time and the result depends on the timing. For example, two threads reading a counter, adding one and writing it back can lose an increment. Locks, atomic operations or avoiding shared mutable state prevent it."),
]

COUNTRIES = [
    # name, capital, language, currency, fact
    ("Canada", "Ottawa", "English and French", "Canadian dollar", "It has the longest coastline of any country in the world."),
    ("Australia", "Canberra", "English", "Australian dollar", "Canberra was purpose-built as a compromise between Sydney and Melbourne."),
    ("Brazil", "Brasília", "Portuguese", "real", "It is home to most of the Amazon rainforest."),
    ("Japan", "Tokyo", "Japanese", "yen", "It is made up of more than 6,800 islands."),
    ("Kenya", "Nairobi", "Swahili and English", "Kenyan shilling", "Nairobi National Park lies just outside the city centre."),
    ("Norway", "Oslo", "Norwegian", "Norwegian krone", "Its coastline is famous for deep fjords carved by glaciers."),
    ("Turkey", "Ankara", "Turkish", "Turkish lira", "Istanbul is its largest city, but Ankara has been the capital since 1923."),
    ("New Zealand", "Wellington", "English and Māori", "New Zealand dollar", "Wellington is often called the world's southernmost capital of a sovereign state."),
    ("Morocco", "Rabat", "Arabic and Berber", "dirham", "Marrakesh and Casablanca are bigger and better known than the capital."),
    ("Vietnam", "Hanoi", "Vietnamese", "đồng", "The country stretches over 1,600 km from north to south."),
    ("Argentina", "Buenos Aires", "Spanish", "Argentine peso", "It contains Aconcagua, the highest mountain outside Asia."),
    ("Switzerland", "Bern", "German, French, Italian and Romansh", "Swiss franc", "Bern is officially called the 'federal city' rather than the capital."),
    ("Egypt", "Cairo", "Arabic", "Egyptian pound", "Most of its population lives along the Nile valley and delta."),
    ("Portugal", "Lisbon", "Portuguese", "euro", "Lisbon is one of the oldest cities in western Europe."),
    ("South Korea", "Seoul", "Korean", "won", "About half the population lives in the Seoul metropolitan area."),
    ("Mexico", "Mexico City", "Spanish", "Mexican peso", "Mexico City was built on the site of the Aztec capital Tenochtitlan."),
    ("Finland", "Helsinki", "Finnish and Swedish", "euro", "It has around 188,000 lakes."),
    ("India", "New Delhi", "Hindi and English, among many others", "Indian rupee", "It recognises 22 scheduled languages in its constitution."),
    ("Peru", "Lima", "Spanish and Quechua", "sol", "Machu Picchu, the Inca citadel, is in the Andes near Cusco."),
    ("Iceland", "Reykjavík", "Icelandic", "Icelandic króna", "Much of its heating comes from geothermal energy."),
    ("Ghana", "Accra", "English", "Ghanaian cedi", "In 1957 it became one of the first sub-Saharan African countries to gain independence."),
    ("Poland", "Warsaw", "Polish", "złoty", "Warsaw's old town was rebuilt after the Second World War and is a UNESCO site."),
]
GEO_Q = [
    ("What's the capital of {c}?", "The capital of {c} is {cap}. {fact}"),
    ("Which language do people speak in {c}?", "The main language of {c} is {lang}. The capital is {cap}, and the currency is the {cur}."),
    ("I'm going to {c} next month. What currency should I bring?", "{c} uses the {cur}. Cards are widely accepted in cities like {cap}, but it's useful to carry a little cash for smaller shops and markets. Let your bank know you're travelling so your card isn't blocked."),
    ("Tell me two interesting facts about {c}.", "Here are two: first, its capital is {cap}, and {lang} is the main language. Second, {fact_l}"),
]

GEN_MORE = [
    ("What's a good vegetarian main for a dinner party?",
     "A mushroom and chestnut Wellington always looks impressive. Sauté mushrooms, shallots, garlic and thyme until dry, stir in chopped cooked chestnuts and a handful of spinach, then wrap the mixture in puff pastry and bake at 200°C for about 35 minutes. It can be assembled in the morning and baked just before serving. Serve with roast potatoes and a red wine gravy made with vegetable stock."),
    ("How do I know when oil is hot enough for frying?",
     "Drop in a small cube of bread: at around 180°C it should turn golden in about 30 seconds. A wooden spoon handle dipped in the oil should have a steady stream of small bubbles around it. If the oil smokes, it's too hot, so take it off the heat for a minute."),
    ("Can you suggest a packed lunch that isn't a sandwich?",
     "Try a grain salad: cooked couscous or bulgur with chopped cucumber, cherry tomatoes, feta, chickpeas and a lemon and olive oil dressing. It keeps well in the fridge for three days, so you can make a batch on Sunday. Other easy options are a Spanish omelette cut into wedges, or leftover pasta with pesto and roasted vegetables."),
    ("Explain compound interest to a ten-year-old.",
     "Imagine you put 100 sweets in a special jar, and every year the jar adds one extra sweet for every ten inside. After the first year you'd have 110. The next year it adds one for every ten again, but now there are 110, so you get 11 more instead of 10. Because the extras also earn extras, the pile grows faster and faster the longer you wait."),
    ("Why do onions make you cry?",
     "Cutting an onion breaks its cells and releases enzymes that produce a gas called syn-propanethial-S-oxide. When it reaches your eyes, it irritates them and your tear glands respond to wash it away. Chilling the onion first and using a very sharp knife reduces the amount of gas released."),
    ("What are some good questions to ask at the end of an interview?",
     "Good ones show you're thinking about doing the job well: 'What does success look like in the first six months?', 'What's the biggest challenge the team is facing right now?' and 'How would you describe the team's way of working?'. Asking what the next steps in the process are is also fine. Avoid questions about salary or holidays until you have an offer, unless they bring it up."),
    ("How often should I water a cactus?",
     "Much less than most people think. In spring and summer, water thoroughly only when the soil has dried out completely, usually every two to three weeks. In winter, once a month or less is enough. Use a pot with drainage holes and gritty cactus compost, because sitting in wet soil is the most common way cacti die."),
    ("Is it better to stretch before or after running?",
     "Do a dynamic warm-up before running, such as leg swings, walking lunges and a few minutes of easy jogging, because it prepares your muscles for movement. Save longer static stretches, where you hold a position for 20 to 30 seconds, for after the run when your muscles are warm. Static stretching before running hasn't been shown to prevent injuries."),
    ("What's the tallest mountain in the world?",
     "Mount Everest, on the border between Nepal and China, is the highest mountain above sea level at about 8,849 metres. Measured from base to summit, Mauna Kea in Hawaii is taller, but most of it is underwater. Measured from the centre of the Earth, Chimborazo in Ecuador reaches furthest because of the bulge at the equator."),
    ("Who was Ada Lovelace?",
     "Ada Lovelace was a 19th-century English mathematician, the daughter of the poet Lord Byron. She worked with Charles Babbage on his proposed Analytical Engine and wrote notes describing how it could calculate Bernoulli numbers, which is often called the first computer program. She also suggested that such machines might one day handle music and symbols, not just numbers."),
    ("How do I get red wine out of a carpet?",
     "Blot, don't rub: press a clean cloth on the stain to soak up as much as possible. Then pour a little cold water on it and blot again. A paste of bicarbonate of soda and water left to dry and then vacuumed up lifts much of what's left. For stubborn stains, a mix of washing-up liquid and white vinegar in warm water often works, but test it on a hidden patch first."),
    ("Can you recommend a structure for a 5-minute presentation?",
     "Keep it to one main message. Spend 30 seconds on a hook and why it matters, about three minutes on two or three supporting points with one example each, and a minute on what you want the audience to do or remember. Finish with a single clear sentence. Five minutes usually means no more than five or six slides."),
    ("What's the difference between an LLC and a sole proprietorship?",
     "A sole proprietorship is the simplest structure: you and the business are legally the same, so you're personally liable for its debts. An LLC (limited liability company) is a separate legal entity, which generally protects your personal assets if the business is sued or can't pay its debts. LLCs involve more paperwork and fees, and the tax treatment differs by country and state, so it's worth speaking to an accountant."),
    ("Why do cats purr?",
     "Cats purr by rapidly twitching the muscles of the larynx as they breathe in and out. They often purr when content, but also when stressed, injured or giving birth, so it seems to be a self-soothing signal as well as a sign of happiness. Some research suggests the low frequency of purring may even help bones and tissues heal."),
    ("How do I write a haiku?",
     "A traditional haiku has three lines with five, seven and five syllables. It usually captures a single moment in nature and often includes a seasonal word. For example:\n\nMorning frost on glass\nthe kettle starts its low song\nwinter light creeps in\n\nIn English, many poets loosen the syllable count and focus on a clear, concrete image."),
    ("What's a good way to memorise a speech?",
     "Don't memorise it word for word. Learn the structure first as a list of key points, then practise saying each section aloud in your own words. Rehearse in the space or standing up if you can, and record yourself once to spot rushed parts. Memorise the first and last sentences exactly, as those are the moments nerves are worst."),
    ("How do tides work?",
     "Tides are caused mainly by the Moon's gravity pulling on the oceans. The water bulges out on the side facing the Moon and, because of the Earth's motion, on the opposite side too, so most coasts get two high tides and two low tides a day. When the Sun and Moon line up at new and full moon, their pulls combine into bigger 'spring' tides."),
    ("What should I look for when buying a second-hand bike?",
     "Check the frame for cracks or dents, especially around the joints. Spin the wheels to see they run straight and the brakes grip firmly. Shift through all the gears, and look at the chain and rear cogs for wear. Make sure the size fits you: you should be able to stand over the top tube with both feet flat. Ask for proof of purchase to avoid buying a stolen bike."),
    ("Translate 'Where is the train station?' into Spanish, French and German.",
     "Spanish: '¿Dónde está la estación de tren?'\nFrench: 'Où est la gare ?'\nGerman: 'Wo ist der Bahnhof?'\nIn all three, adding 'please' makes it more polite: 'por favor', 's'il vous plaît' and 'bitte'."),
    ("What is a haiku's cousin, the tanka?",
     "A tanka is a Japanese poem of five lines with a syllable pattern of 5-7-5-7-7. It is older than the haiku and often moves from an image in the first three lines to a personal reflection or feeling in the last two. It's sometimes described as a haiku with a response attached."),
    ("How long should a cover letter be?",
     "Aim for one page, usually three or four short paragraphs and about 250 to 400 words. Open with the role and a strong reason you fit, use the middle to give one or two specific examples that match the job description, and close with a line about what you'd bring and your availability to talk."),
    ("Why is my sourdough starter not rising?",
     "A young starter often takes one to two weeks to become reliable. Keep it somewhere warm, ideally 24 to 27°C, and feed it at the same time each day with equal weights of flour and water. Wholemeal or rye flour gives it a boost. If there's a layer of grey liquid on top, it's hungry: pour it off and feed it more often."),
]

GEN_MULTI = [
    [("I'm planning a vegetable garden for the first time. What's easy to grow?",
      "Great choices for beginners are courgettes, runner beans, lettuce, radishes and potatoes. Radishes and salad leaves are ready in four to six weeks, which is encouraging early on. Herbs like mint and chives are almost impossible to kill, though mint is best kept in a pot because it spreads."),
     ("My garden only gets sun in the afternoon. Does that change anything?",
      "Afternoon sun is actually quite good, as long as it's at least five or six hours. Leafy crops such as lettuce, chard and spinach cope with partial shade, while tomatoes, courgettes and beans want the sunniest spot you have. Put taller plants at the back so they don't shade the shorter ones.")],
    [("Can you help me plan a three-day trip to Edinburgh?",
      "Day one: the Old Town, walking the Royal Mile from the castle down to Holyrood Palace. Day two: climb Arthur's Seat in the morning, then explore the New Town and the National Gallery. Day three: a trip out to Leith for the shore and its restaurants, or a day trip to the Forth bridges at South Queensferry."),
     ("What if it rains the whole time?",
      "Edinburgh handles rain well. The National Museum of Scotland is free and could easily fill half a day, and Surgeons' Hall Museums and the Writers' Museum are great smaller options. The underground vault tours under the Old Town are fun in any weather. Pack a proper waterproof rather than an umbrella, because the wind will turn umbrellas inside out.")],
    [("What's the difference between a Roth IRA and a traditional IRA?",
      "With a traditional IRA, contributions may be tax-deductible now and you pay income tax when you withdraw in retirement. With a Roth IRA, you contribute money you've already paid tax on, and qualified withdrawals in retirement are tax-free. Roth IRAs have income limits for contributing directly."),
     ("Which one makes sense if I expect to earn more later in my career?",
      "If you expect to be in a higher tax bracket later, a Roth often makes more sense, because you pay tax now at your lower rate and withdraw tax-free later. Many people early in their career favour a Roth for this reason. It's still worth checking the current contribution limits and your eligibility, or speaking to a financial adviser.")],
    [("My teenager won't talk to me about school. How can I get them to open up?",
      "Side-by-side conversations often work better than face-to-face ones, for example while driving, cooking or walking the dog. Ask specific questions instead of 'How was school?', such as 'What was the funniest thing that happened today?'. Listen more than you advise, and resist jumping in with solutions unless they ask."),
     ("And if they just say 'fine' to everything?",
      "That's very normal, so don't take it personally. Keep offering low-pressure chances to talk and share a bit about your own day, which models the habit. Teenagers often open up late in the evening or when they're relaxed, so being around at those times helps. If you're worried about their mood or behaviour, a chat with a teacher or their GP can help.")],
]


def gen_maths(rng: random.Random) -> list:
    out = []
    for _ in range(3):
        s, t = rng.randint(40, 110), rng.randint(2, 6)
        out.append((f"A train travels at {s} km/h for {t} hours. How far does it go?",
                    f"Distance equals speed multiplied by time, so {s} × {t} = {s * t} km. The train travels {s * t} kilometres."))
    for _ in range(3):
        price, pct = rng.randint(24, 180), rng.choice([10, 15, 20, 25, 30, 40])
        off = price * pct / 100
        out.append((f"A jacket costs £{price} and is {pct}% off in the sale. What's the sale price?",
                    f"{pct}% of £{price} is £{off:.2f}. Subtracting that gives £{price - off:.2f}. You could also multiply £{price} by {1 - pct / 100:.2f} to get the same answer directly."))
    for _ in range(3):
        bill, n, tip = rng.randint(60, 240), rng.randint(3, 7), rng.choice([10, 12.5, 15])
        total = bill * (1 + tip / 100)
        out.append((f"Our restaurant bill is £{bill} and we want to add a {tip}% tip and split it between {n} people. How much each?",
                    f"First add the tip: £{bill} × {1 + tip / 100:g} = £{total:.2f}. Then divide by {n}: £{total:.2f} ÷ {n} = £{total / n:.2f} each. In practice you might round it to £{-(-total // n):.0f} each and leave the extra as a bit more tip."))
    for _ in range(3):
        w, l = rng.randint(3, 6), rng.randint(4, 8)
        h = rng.choice([2.4, 2.5, 2.6])
        area = 2 * (w + l) * h
        litres = area / 10 * 2
        out.append((f"My room is {w} m by {l} m with {h} m high walls. Roughly how much paint do I need for two coats if a litre covers 10 square metres?",
                    f"The wall area is the perimeter times the height: 2 × ({w} + {l}) × {h} = {area:.1f} m². Two coats means {2 * area:.1f} m² to cover, so you need about {litres:.1f} litres. Doors and windows reduce this a little, but buying slightly more is sensible for touch-ups."))
    for _ in range(3):
        scores = [rng.randint(52, 98) for _ in range(rng.randint(4, 6))]
        avg = sum(scores) / len(scores)
        out.append((f"What's the average of these test scores: {', '.join(map(str, scores))}?",
                    f"Add them up to get {sum(scores)}, then divide by the number of scores, {len(scores)}. The average is {avg:.1f}."))
    for _ in range(3):
        p, r, y = rng.choice([1000, 2500, 5000, 8000]), rng.choice([3, 4, 5]), rng.randint(2, 5)
        final = p * (1 + r / 100) ** y
        out.append((f"If I put £{p} in a savings account at {r}% interest compounded yearly, how much will I have after {y} years?",
                    f"Use A = P × (1 + r)^n: £{p} × 1.0{r}^{y} = £{final:.2f}. That's £{final - p:.2f} of interest, slightly more than simple interest would give because each year's interest also earns interest."))
    for _ in range(3):
        serves, want = rng.choice([4, 6]), rng.choice([2, 3, 9, 10])
        flour = rng.choice([200, 250, 300])
        out.append((f"A recipe for {serves} people needs {flour} g of flour. How much do I need for {want} people?",
                    f"Scale by {want}/{serves}: {flour} g × {want} ÷ {serves} = {flour * want / serves:g} g of flour. Scale the other ingredients by the same factor, but go carefully with salt and spices and adjust to taste."))
    for _ in range(3):
        a_size, a_price = rng.choice([330, 400, 500]), rng.uniform(0.8, 1.6)
        b_size, b_price = rng.choice([750, 1000, 1200]), rng.uniform(1.7, 3.2)
        ua, ub = a_price / a_size * 100, b_price / b_size * 100
        better = "smaller" if ua < ub else "larger"
        out.append((f"Which is better value: {a_size} g for £{a_price:.2f} or {b_size} g for £{b_price:.2f}?",
                    f"Compare the price per 100 g. The {a_size} g pack is £{ua:.3f} per 100 g and the {b_size} g pack is £{ub:.3f} per 100 g, so the {better} pack is better value. Only buy the bigger one if you'll use it before it goes off."))
    for _ in range(2):
        old, new = rng.randint(24, 38) * 1000, rng.randint(2, 9)
        out.append((f"I earn £{old:,} a year and I've been offered a {new}% raise. What will my new salary be?",
                    f"A {new}% raise on £{old:,} is £{old * new / 100:,.0f}, so your new salary would be £{old * (1 + new / 100):,.0f} before tax. Remember tax and national insurance will take a share, so your take-home pay rises by less."))
    for _ in range(2):
        miles, mpg, ppl = rng.randint(120, 480), rng.randint(38, 58), rng.choice([1.42, 1.48, 1.55])
        litres = miles / mpg * 4.546
        out.append((f"I'm driving {miles} miles in a car that does {mpg} mpg. Petrol is £{ppl} a litre. Roughly what will fuel cost?",
                    f"{miles} miles at {mpg} mpg uses {miles / mpg:.1f} gallons. A UK gallon is 4.546 litres, which makes about {litres:.1f} litres, and at £{ppl} a litre the fuel comes to roughly £{litres * ppl:.2f}."))
    for _ in range(2):
        a, b = rng.randint(3, 8), rng.randint(4, 12)
        out.append((f"One painter can paint a fence in {a} hours and another takes {b} hours. How long if they work together?",
                    f"Add their rates: 1/{a} + 1/{b} of the fence per hour, which is {(a + b)}/{a * b}. Invert it to get the time: {a * b}/{a + b} ≈ {a * b / (a + b):.2f} hours, or about {round(a * b / (a + b) * 60)} minutes."))
    return out


def gen_conversions(rng: random.Random) -> list:
    out = []
    for c in rng.sample([-5, 4, 12, 18, 25, 31, 37], 3):
        out.append((f"What is {c}°C in Fahrenheit?",
                    f"Multiply by 9/5 and add 32: {c} × 1.8 + 32 = {c * 1.8 + 32:.1f}°F."))
    for km in rng.sample([5, 10, 21.1, 42.2, 100], 3):
        out.append((f"How many miles is {km} km?",
                    f"One kilometre is about 0.621 miles, so {km} km is roughly {km * 0.621371:.1f} miles."))
    for lb in rng.sample([3, 8, 12, 150, 200], 2):
        out.append((f"Convert {lb} pounds to kilograms.",
                    f"One pound is 0.4536 kg, so {lb} lb is about {lb * 0.45359237:.2f} kg."))
    return out


# --------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------
class Item:
    """One line of support_chats.jsonl (identity-compared, never by value)."""

    def __init__(self, obj=None, kind="clean", detail="", source=None, fmt="chat", raw=None, group=None):
        self.obj, self.kind, self.detail, self.source = obj, kind, detail, source
        self.fmt, self.raw, self.group = fmt, raw, group
        self.crlf = False
        self.id = None
        self.line = None


def strip_private(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def copy_msgs(rec: dict) -> list:
    return json.loads(json.dumps(rec["messages"]))


def last_assistant(msgs: list) -> dict:
    return [m for m in msgs if m["role"] == "assistant"][-1]


def first_user(msgs: list) -> dict:
    return [m for m in msgs if m["role"] == "user"][0]


def to_sharegpt(msgs: list) -> list:
    names = {"system": "system", "user": "human", "assistant": "gpt"}
    return [{"from": names[m["role"]], "value": m["content"]} for m in msgs]


def swap_typo(text: str, rng: random.Random) -> str:
    words = [m for m in re.finditer(r"[A-Za-z]{6,}", text)]
    m = words[rng.randrange(len(words))]
    w = m.group(0)
    i = rng.randint(1, len(w) - 3)
    w2 = w[:i] + w[i + 1] + w[i] + w[i + 2:]
    return text[:m.start()] + w2 + text[m.end():]


SYNONYMS = [("usually", "normally"), ("normally", "usually"), ("check", "verify"), ("within", "in"),
            ("straight away", "immediately"), ("please", "kindly"), ("Please", "Kindly"), ("about", "around"),
            ("also", "as well"), ("can", "may")]


def change_word(text: str) -> str:
    for a, b in SYNONYMS:
        if re.search(rf"\b{a}\b", text):
            return re.sub(rf"\b{a}\b", b, text, count=1)
    return text.replace(" the ", " your ", 1)


def near_dup_edits():
    """(label, function(msgs, rng)) pairs; each returns a description."""
    def typo_user(m, rng):
        u = first_user(m); u["content"] = swap_typo(u["content"], rng); return "typo in the user turn"

    def typo_answer(m, rng):
        a = last_assistant(m); a["content"] = swap_typo(a["content"], rng); return "typo in the answer"

    def word_answer(m, rng):
        a = last_assistant(m); a["content"] = change_word(a["content"]); return "one word changed in the answer"

    def spaces(m, rng):
        a = last_assistant(m); a["content"] = a["content"].replace(". ", ".  ") + "  "; return "double spaces after full stops + trailing spaces"

    def lower_user(m, rng):
        u = first_user(m); u["content"] = u["content"].lower(); return "user turn lower-cased"

    def sure(m, rng):
        a = last_assistant(m); a["content"] = "Sure! " + a["content"]; return "'Sure! ' prefixed to the answer"

    def appended(m, rng):
        a = last_assistant(m); a["content"] += " Thanks for being a Lumen Grid customer."; return "sentence appended to the answer"

    def certainly(m, rng):
        a = last_assistant(m); a["content"] = "Certainly! " + a["content"]; return "'Certainly! ' prefixed to the answer"

    def punct(m, rng):
        u = first_user(m); u["content"] = u["content"].replace("?", "??").rstrip(".") + " pls"; return "user punctuation changed + 'pls' appended"

    def appended2(m, rng):
        a = last_assistant(m); a["content"] += "\n\nHave a lovely evening."; return "sign-off appended to the answer"

    def word_typo(m, rng):
        a = last_assistant(m); a["content"] = swap_typo(change_word(a["content"]), rng); return "word changed + typo in the answer"

    def upper_words(m, rng):
        u = first_user(m); u["content"] = u["content"].upper(); return "user turn in capitals"

    return [typo_user, typo_answer, word_answer, spaces, lower_user, sure, appended, certainly, punct,
            appended2, word_typo, upper_words]


def truncate_mid_sentence(text: str, frac: float) -> str:
    cut = int(len(text) * frac)
    # go back to a space that is not right after sentence punctuation
    while cut > 10 and (text[cut] != " " or text[cut - 1] in ".!?:"):
        cut -= 1
    return text[:cut]


def build_support(rng: random.Random):
    div = Diverse()
    # benchmark and handwritten rows take part in the diversity check first
    for q, a in BENCHMARK:
        div.offer({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
    # tool-calling chats
    tool_rows = []
    k = 0
    while len(tool_rows) < 10 and k < 200:
        rec = make_tool_chat(rng, k)
        k += 1
        if div.offer(rec):
            tool_rows.append(rec)
    # pool of ordinary support chats, round-robin over topics
    pool = []
    target = 316
    order = list(range(len(TOPICS)))
    attempts = 0
    while len(pool) < target and attempts < 20000:
        rng.shuffle(order)
        for ti in order:
            attempts += 1
            rec = make_support_chat(TOPICS[ti], rng)
            if div.offer(rec):
                pool.append(rec)
            if len(pool) >= target:
                break
    if len(pool) < target:
        raise RuntimeError(f"only {len(pool)} diverse support chats")
    rng.shuffle(pool)
    return pool, tool_rows, div


def reword_eval(r: dict) -> None:
    """Give an eval row its own wording so no training row shares its question.

    Training rows draw their questions, contexts and follow-ups from the same
    phrase banks, so an eval row keeps its topic, facts and first answer but asks
    in eval-only words (EVAL_REWORDED), without a context sentence, and loses the
    stock follow-up exchanges. Touches no random stream: the rest of the file
    (and every line number in support_chats.jsonl) stays as it was.
    """
    qp, p = r["_qparts"], r["_params"]
    msgs = r["messages"]
    first = next(i for i, m in enumerate(msgs) if m["role"] == "user")
    q = join_question([qp["greet"], fill(EVAL_REWORDED[qp["qt"]], p), qp["sign"]])
    r["messages"] = msgs[:first] + [{"role": "user", "content": q}, msgs[first + 1]]


def check_no_shared_questions(train: list, eval_rows: list, general: list) -> None:
    bench = [{"id": f"bench-{i:03d}", "messages": [{"role": "user", "content": q}]}
             for i, (q, _) in enumerate(BENCHMARK, 1)]
    protected = [{"id": r["id"], "messages": r["messages"]} for r in eval_rows] + bench
    bad = [(it.id, shares_question(it.obj, protected)) for it in train]
    bad += [(g["id"], shares_question(g, protected)) for g in general if "_kind" not in g]
    bad += [(r["id"], shares_question(r, bench)) for r in eval_rows]
    bad = [b for b in bad if b[1]]
    if bad:
        raise RuntimeError(f"rows share a question with eval/benchmark items: {bad[:10]}")
    # without its context and follow-ups an eval row is mostly answer, and stock answer
    # sentences can push it over the Jaccard limit: redraw such answers (own stream)
    tsh = [shingles(record_text(it.obj)) for it in train]
    erng = random.Random(SEED + 1)
    for r in eval_rows:
        for _ in range(200):
            sh = shingles(record_text(r))
            if max(jaccard(sh, t) for t in tsh) < ACCEPT_JACCARD:
                break
            if r.get("_leaked"):
                raise RuntimeError(f"leaked eval row {r['id']} too close to a training row")
            topic = next(t for t in TOPICS if t["name"] == r["_topic"])
            last_assistant(r["messages"])["content"] = build_answer(topic, r["_params"], erng, r["_leads"])
        else:
            raise RuntimeError(f"eval row {r['id']} too close to a training row")


def take(pool: list, pred=lambda r: True) -> dict:
    for i, r in enumerate(pool):
        if pred(r):
            return pool.pop(i)
    raise RuntimeError("pool exhausted")


def single_turn(r):
    return [m["role"] for m in r["messages"]] == ["user", "assistant"]


def main() -> None:
    rng = random.Random(SEED)
    DATA.mkdir(parents=True, exist_ok=True)
    pool, tool_rows, div = build_support(rng)

    # ---------------------------------------------------------------- eval
    eval_rows = []
    for _ in range(3):  # the leaked ones: single-turn, no system prompt
        eval_rows.append(take(pool, single_turn))
    while len(eval_rows) < 40:
        eval_rows.append(pool.pop())
    leak_eval = eval_rows[:3]
    for r in leak_eval:
        r["_leaked"] = True
    rng.shuffle(eval_rows)
    for i, r in enumerate(eval_rows, 1):
        r["id"] = f"eval-{i:03d}"
        reword_eval(r)

    # ------------------------------------------------- defect base rows
    def fresh(single=True):
        return take(pool, single_turn) if single else pool.pop()

    defects: list[Item] = []

    def add(obj, kind, detail, source=None, fmt="chat", raw=None, group=None):
        it = Item(obj, kind, detail, source, fmt, raw, group)
        defects.append(it)
        return it

    # clean rows kept back for other formats
    sg_clean = [fresh(False) for _ in range(4)]
    alp_clean = [fresh() for _ in range(3)]

    # empty answers
    for content in ["", "   ", "\n"]:
        r = fresh(); m = copy_msgs(r); last_assistant(m)["content"] = content
        add({"messages": m}, "empty_answer", f"assistant content {json.dumps(content)}")
    r = take(pool, lambda r: len(r["messages"]) >= 4 and r["messages"][0]["role"] == "user")
    m = copy_msgs(r); m[1]["content"] = ""
    add({"messages": m}, "empty_answer", "first assistant turn of a multi-turn chat is \"\"")
    # truncated answers
    for frac in [0.45, 0.6, 0.7]:
        r = fresh(); m = copy_msgs(r); a = last_assistant(m)
        a["content"] = truncate_mid_sentence(a["content"], frac)
        add({"messages": m}, "truncated_answer", "answer cut off mid-sentence")
    add({"messages": json.loads(json.dumps(CODE_FENCE_TRUNC))}, "truncated_answer", "unclosed ``` code fence")
    # refusals
    for text in REFUSALS:
        r = fresh(); m = copy_msgs(r); last_assistant(m)["content"] = text
        add({"messages": m}, "refusal", text[:40] + "...")
    # wrong roles
    for who, new in [("user", "customer"), ("assistant", "agent"), ("assistant", "bot")]:
        r = fresh(); m = copy_msgs(r)
        for x in m:
            if x["role"] == who:
                x["role"] = new
        add({"messages": m}, "bad_role", f"role {json.dumps(new)} instead of {json.dumps(who)}")
    # role order
    r = fresh(); m = copy_msgs(r)
    m.insert(0, {"role": "user", "content": "Hello? Is anyone there?"})
    add({"messages": m}, "role_order", "two user turns in a row")
    r = fresh(); m = copy_msgs(r)
    m.insert(0, {"role": "assistant", "content": "Hi, I'm Lumi from Lumen Grid. How can I help today?"})
    add({"messages": m}, "role_order", "conversation starts with an assistant turn")
    # no assistant turn
    r = fresh(); m = [first_user(copy_msgs(r))]
    add({"messages": m}, "no_assistant", "user turn only")
    r = fresh(); m = [{"role": "system", "content": SYSTEM_PROMPTS[0]}, first_user(copy_msgs(r))]
    add({"messages": m}, "no_assistant", "system + user, no assistant")
    # placeholders
    for text in ["N/A", "TODO: write answer"]:
        r = fresh(); m = copy_msgs(r); last_assistant(m)["content"] = text
        add({"messages": m}, "placeholder_answer", f"answer is {json.dumps(text)}")
    # PII
    for what, msgs in PII_ROWS:
        add({"messages": json.loads(json.dumps(msgs))}, "pii", {"email": "email address in user turn",
            "phone": "mobile number + street address in user turn", "api_key": "sk-live-... API key in user turn"}[what])
    # promised media that isn't there
    add({"messages": MISSING_MEDIA_ROWS[0]}, "missing_media", "'See the diagram below:' with no diagram")
    add({"messages": MISSING_MEDIA_ROWS[1]}, "missing_media", "'clicking the link below' with no link")
    # conflicting answers (pairs)
    for key, q, a1, a2 in CONFLICT_PAIRS:
        first = add({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a1}]},
                    "conflicting_answer", "same question as its pair, answer contradicts it", group=key)
        add({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a2}]},
            "conflicting_answer", "same question as its pair, answer contradicts it", source=first, group=key)
    # eval leakage
    e_verb, e_emb, e_chg = leak_eval
    add({"messages": copy_msgs(e_verb)}, "eval_leak", f"verbatim copy of {e_verb['id']}", group=e_verb["id"])
    q = first_user(e_emb["messages"])["content"]
    add({"messages": [{"role": "user", "content": f"My neighbour asked me this and I want to check: {q} Thanks!"},
                      {"role": "assistant", "content": last_assistant(e_emb["messages"])["content"]}]},
        "eval_leak", f"question of {e_emb['id']} embedded in a longer prompt", group=e_emb["id"])
    topic = next(t for t in TOPICS if t["name"] == e_chg["_topic"])
    old = last_assistant(e_chg["messages"])["content"]
    new = old
    while new == old:
        new = build_answer(topic, e_chg["_params"], rng, e_chg["_leads"])
    add({"messages": [{"role": "user", "content": first_user(e_chg["messages"])["content"]},
                      {"role": "assistant", "content": new}]},
        "eval_leak", f"question of {e_chg['id']} verbatim, different answer", group=e_chg["id"])
    # benchmark leakage
    bq, ba = BENCHMARK[BENCH_LEAK_VERBATIM]
    add({"messages": [{"role": "user", "content": bq}, {"role": "assistant", "content": ba}]},
        "benchmark_leak", f"verbatim copy of bench-{BENCH_LEAK_VERBATIM + 1:03d}", group=f"bench-{BENCH_LEAK_VERBATIM + 1:03d}")
    add({"messages": [{"role": "user", "content": BENCH_REWORDED[0]}, {"role": "assistant", "content": BENCH_REWORDED[1]}]},
        "benchmark_leak", f"reworded copy of bench-{BENCH_LEAK_REWORDED + 1:03d}", group=f"bench-{BENCH_LEAK_REWORDED + 1:03d}")

    # broken lines (raw builders take the id)
    r = fresh()
    trunc_obj = {"messages": copy_msgs(r)}
    add(trunc_obj, "broken_json", "line cut off mid-JSON (no closing brackets)",
        raw=lambda o: json.dumps(o, ensure_ascii=False)[: int(len(json.dumps(o, ensure_ascii=False)) * 0.62)].encode())
    r = fresh()
    add({"messages": copy_msgs(r)}, "broken_json", "trailing comma before the closing brace",
        raw=lambda o: (json.dumps(o, ensure_ascii=False)[:-1] + ",}").encode())
    r = fresh()
    add({"messages": copy_msgs(r)}, "not_an_object", "line is a JSON array of messages, not an object (no id)",
        raw=lambda o: json.dumps(o["messages"], ensure_ascii=False).encode())
    r = fresh(); m = copy_msgs(r); first_user(m)["content"] += " Thanks, Zoë"
    add({"messages": m}, "invalid_utf8", "latin-1 byte 0xEB ('ë' in 'Zoë') inside a UTF-8 file",
        raw=lambda o: json.dumps(o, ensure_ascii=False).encode().replace("Zoë".encode(), b"Zo\xeb"))
    r = fresh()
    add({"messages": copy_msgs(r), "meta": {"channel": "app_chat", "csat": float("nan")}}, "nan_value",
        "meta.csat is NaN (not valid JSON; Python's json accepts it)")

    # ------------------------------------------------------- clean train
    train = [Item(strip_private(r)) for r in pool[: 246 - len(tool_rows)]]
    train += [Item(r) for r in tool_rows]
    for r in sg_clean:
        obj = {"conversations": to_sharegpt(r["messages"])}
        train.append(Item(obj, fmt="sharegpt"))
    for i, r in enumerate(alp_clean):
        q, a = first_user(r["messages"])["content"], last_assistant(r["messages"])["content"]
        if i == 0:
            obj = {"instruction": "Answer this Lumen Grid customer's message.", "input": q, "output": a}
        else:
            obj = {"instruction": q, "input": "", "output": a}
        train.append(Item(obj, fmt="alpaca"))
    rng.shuffle(train)
    # the first line must be an ordinary chat row (it carries the BOM)
    first_chat = next(i for i, it in enumerate(train) if it.fmt == "chat" and "tools" not in it.obj)
    train.insert(0, train.pop(first_chat))

    # duplicates need sources among the clean chat rows
    chat_sources = [it for it in train[1:] if it.fmt == "chat" and "tools" not in it.obj]
    picks = rng.sample(chat_sources, 12 + 4 + 1)
    for src, edit in zip(picks[:12], near_dup_edits()):
        m = json.loads(json.dumps(src.obj["messages"]))
        what = edit(m, rng)
        add({"messages": m}, "near_duplicate", what, source=src)
    for src in picks[12:16]:
        obj = {"messages": json.loads(json.dumps(src.obj["messages"]))}
        add(obj, "exact_duplicate", "identical messages, different id", source=src)
    src = picks[16]
    add({"conversations": to_sharegpt(src.obj["messages"])}, "format_duplicate",
        "ShareGPT copy of a chat-format row", source=src, fmt="sharegpt")

    # --------------------------------------------------------- layout
    lines = list(train)
    for d in defects:
        lo = 1
        if d.source is not None:
            lo = next(i for i, it in enumerate(lines) if it is d.source) + 1
        hi = len(lines) if d.source is None else min(len(lines), lo + 70)
        pos = rng.randint(max(lo, 1), hi)
        lines.insert(pos, d)
    mid = [it for it in lines[100:200] if it.kind == "clean" and it.fmt == "chat"]
    mid[0].crlf = True
    for n, it in enumerate(lines, 1):
        it.line = n
        it.id = f"sup-{n:04d}"

    out = bytearray(b"\xef\xbb\xbf")  # UTF-8 BOM at the very start of the file
    for it in lines:
        obj = it.obj
        if it.kind == "not_an_object":
            body = it.raw(obj)
            it.id = None
        else:
            obj = {"id": it.id, **obj}
            body = it.raw(obj) if it.raw else json.dumps(obj, ensure_ascii=False).encode()
        out += body + (b"\r\n" if it.crlf else b"\n")
    (DATA / "support_chats.jsonl").write_bytes(bytes(out))

    write_jsonl(DATA / "benchmark.jsonl", [
        {"id": f"bench-{i:03d}", "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for i, (q, a) in enumerate(BENCHMARK, 1)])
    general, gen_defects = build_general(rng)
    clean_gen = [g for g in general if g["id"] not in {d["id"] for d in gen_defects}]
    check_no_shared_questions([it for it in lines if it.kind == "clean"], eval_rows, clean_gen)
    write_jsonl(DATA / "eval.jsonl", [{"id": r["id"], **strip_private({k: v for k, v in r.items() if k != "id"})} for r in eval_rows])
    write_jsonl(DATA / "general.jsonl", general)
    write_manifest(lines, gen_defects, eval_rows, general)


def write_jsonl(path: Path, rows: list) -> None:
    path.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())


def build_general(rng: random.Random):
    div = Diverse()
    cands = list(GEN_HANDWRITTEN) + list(GEN_MORE) + list(GEN_CODE) + gen_maths(rng) + gen_conversions(rng)
    cands += [tuple(m) for m in GEN_MULTI]
    geo = []
    for c, cap, lang, cur, fact in COUNTRIES:
        for qt, at in rng.sample(GEO_Q, 2):
            kw = {"c": c, "cap": cap, "lang": lang, "cur": cur, "fact": fact, "fact_l": fact[0].lower() + fact[1:]}
            geo.append((qt.format(**kw), at.format(**kw)))
    cands += geo
    rng.shuffle(cands)
    rows = []
    for c in cands:
        msgs = []
        if rng.random() < 0.12:
            msgs.append({"role": "system", "content": rng.choice(["You are a helpful assistant.",
                                                                  "You are a friendly, concise assistant.",
                                                                  "Answer helpfully and accurately."])})
        turns = c if isinstance(c[0], tuple) else [c]
        for q, a in turns:
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        rec = {"messages": msgs}
        if div.offer(rec):
            rows.append(rec)
        if len(rows) >= 148:
            break
    # planted defects (the originals of the emptied / refused rows leave the file)
    base_empty, base_refusal = rows.pop(), rows.pop()
    rows = rows[:146]

    def mk(msgs, kind, detail, src=None):
        return {"messages": msgs, "_kind": kind, "_detail": detail, "_src": src}

    plants = [
        (57, mk(json.loads(json.dumps(rows[10]["messages"])), "exact_duplicate", "identical messages, different id", rows[10])),
        (88, mk(json.loads(json.dumps(base_empty["messages"])), "empty_answer", "assistant content \"\"")),
        (121, mk(json.loads(json.dumps(rows[40]["messages"])), "near_duplicate", "'Sure! ' prefix + 'Hope this helps!' appended", rows[40])),
        (135, mk(json.loads(json.dumps(base_refusal["messages"])), "refusal", "As an AI language model refusal")),
    ]
    last_assistant(plants[1][1]["messages"])["content"] = ""
    a = last_assistant(plants[2][1]["messages"])
    a["content"] = "Sure! " + a["content"] + " Hope this helps!"
    last_assistant(plants[3][1]["messages"])["content"] = "I'm sorry, but as an AI language model I can't help with that."
    for pos, rec in plants:
        rows.insert(pos, rec)
    for i, r in enumerate(rows, 1):
        r["_id"] = f"gen-{i:03d}"
    defects = [{"id": r["_id"], "kind": r["_kind"], "detail": r["_detail"],
                "related": r["_src"]["_id"] if r["_src"] is not None else None}
               for r in rows if "_kind" in r]
    out = [{"id": r["_id"], **{k: v for k, v in r.items() if not k.startswith("_")}} for r in rows]
    return out, defects


KIND_NOTES = {
    "near_duplicate": "near-duplicate of a clean row (small edit)",
    "exact_duplicate": "exact duplicate of a clean row",
    "format_duplicate": "duplicate across formats (ShareGPT copy of a chat row)",
    "empty_answer": "empty / whitespace assistant answer",
    "truncated_answer": "truncated answer",
    "refusal": "refusal / AI boilerplate",
    "bad_role": "unknown role name",
    "role_order": "role-order problem",
    "no_assistant": "no assistant turn",
    "broken_json": "line is not valid JSON",
    "not_an_object": "valid JSON but not an object",
    "invalid_utf8": "invalid UTF-8 bytes",
    "nan_value": "NaN literal",
    "eval_leak": "eval item leaked into training",
    "benchmark_leak": "benchmark item leaked into training",
    "pii": "personal data / secret",
    "placeholder_answer": "placeholder answer",
    "missing_media": "answer promises an image/link that is not there",
    "conflicting_answer": "same prompt, contradicting answers",
}


def write_manifest(lines, gen_defects, eval_rows, general) -> None:
    sup = []
    for it in lines:
        if it.kind == "clean":
            continue
        related = None
        if it.source is not None:
            related = it.source.id
        elif it.group and it.kind == "conflicting_answer":
            related = next(o.id for o in lines if o.group == it.group and o is not it)
        elif it.group:
            related = it.group
        if it.kind == "conflicting_answer" and it.source is None:
            related = next(o.id for o in lines if o.group == it.group and o is not it)
        sup.append({"line": it.line, "id": it.id, "kind": it.kind, "detail": it.detail, "related": related})
    clean = [it for it in lines if it.kind == "clean"]
    quirks = [
        {"line": 1, "id": lines[0].id, "kind": "bom", "detail": "UTF-8 BOM at the start of the file; the record itself is clean"},
        *[{"line": it.line, "id": it.id, "kind": "crlf", "detail": "line ends with CRLF; the record itself is clean"}
          for it in lines if it.crlf],
    ]
    formats = [{"line": it.line, "id": it.id, "format": it.fmt} for it in clean if it.fmt != "chat"]
    tools = [it.id for it in clean if it.fmt == "chat" and "tools" in it.obj]
    manifest = {
        "support_chats.jsonl": {
            "lines": len(lines), "clean": len(clean), "planted": len(sup),
            "clean_ids": [it.id for it in clean],
            "defects": sup, "quirks": quirks, "other_formats_clean": formats, "tool_call_ids": tools,
        },
        "eval.jsonl": {"lines": len(eval_rows)},
        "benchmark.jsonl": {"lines": len(BENCHMARK)},
        "general.jsonl": {"lines": len(general), "defects": gen_defects},
    }
    (DATA / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")

    md = ["# Planted defects (generated by samples/generate.py, do not edit)", "",
          f"support_chats.jsonl: {len(lines)} lines = {len(clean)} clean + {len(sup)} planted. "
          "Ids are `sup-NNNN` where NNNN is the line number.", "",
          "| line | id | kind | detail | related |", "|---:|---|---|---|---|"]
    for d in sorted(sup, key=lambda d: (list(KIND_NOTES).index(d["kind"]), d["line"])):
        md.append(f"| {d['line']} | {d['id'] or '(none: JSON array)'} | {d['kind']} | {d['detail'].replace('|', '/')} | {d['related'] or ''} |")
    md += ["", "Quirks that should be tolerated (the records are clean):", ""]
    md += [f"- line {q['line']} ({q['id']}): {q['detail']}" for q in quirks]
    md += ["", "Clean rows in other formats (should be ingested, not rejected): " +
           ", ".join(f"{f['id']} ({f['format']})" for f in formats) + ".",
           "", "Clean rows with tool calls: " + ", ".join(tools) + ".", "",
           f"general.jsonl: {len(general)} lines, planted:", ""]
    md += [f"- {d['id']}: {d['kind']} ({d['detail']}){' of ' + d['related'] if d['related'] else ''}" for d in gen_defects]
    md += ["", "eval.jsonl (40) and benchmark.jsonl (30) are clean; the leaks above point at their ids.", ""]
    (DATA / "MANIFEST.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
