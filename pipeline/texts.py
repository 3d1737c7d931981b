"""Mention texts for the synthetic stream: English and French templates with slots.

Templates are grouped by theme (the kind of business), category (praise, neutral, complaint,
crisis, viral) and language. Slots such as `{product}`, `{staff}` or `{time}` are filled from
word lists, so a few hundred templates give thousands of distinct texts. Each category carries
the sentiment a human reader would give it; `tests/test_synthetic.py` checks that the real
VADER scorers (English and French) mostly agree.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from random import Random
from typing import Final, Literal

Theme = Literal["airline", "food", "tech", "bakery"]
Category = Literal["praise", "neutral", "complaint", "crisis", "viral"]
Lang = Literal["en", "fr"]

THEMES: Final[tuple[Theme, ...]] = ("airline", "food", "tech", "bakery")
CATEGORIES: Final[tuple[Category, ...]] = ("praise", "neutral", "complaint", "crisis", "viral")
LANGS: Final[tuple[Lang, ...]] = ("en", "fr")

Bank = Mapping[tuple[Category, Lang], tuple[str, ...]]
Words = Mapping[tuple[str, Lang], tuple[str, ...]]

# Emojis per category, chosen so that neither scorer reads them against the category.
# Empty strings make "no emoji" a common outcome.
_EMOJIS: Final[Mapping[Category, tuple[str, ...]]] = {
    "praise": ("😍", "🥰", "😊", "👌", "❤️", "🙌", "👏", "😋", "✨", "", "", ""),
    "viral": ("😂", "😂😂", "😍", "🥰", "🙌", "❤️", "🤩", "👏", "✨", "🎉", ""),
    "neutral": ("👀", "🤔", "", "", "", ""),
    "complaint": ("😠", "😒", "😞", "🙄", "👎", "😤", "", "", ""),
    "crisis": ("😠", "😡", "🤬", "😱", "🤢", "😢", "😭", "⚠️", "", ""),
}

# Hashtags; `{btag}` is the brand name without spaces or accents.
_TAGS: Final[Mapping[tuple[Category, Lang], tuple[str, ...]]] = {
    ("praise", "en"): ("#{btag}", "#happycustomer", "#recommend", "#shoutout", ""),
    ("praise", "fr"): ("#{btag}", "#jerecommande", "#merci", "#coupdecoeur", ""),
    ("viral", "en"): ("#{btag}", "#wholesome", "#viral", "#{btag}Wins", ""),
    ("viral", "fr"): ("#{btag}", "#viral", "#tropbien", "#respect", ""),
    ("neutral", "en"): ("#{btag}", "#question", "#travel", ""),
    ("neutral", "fr"): ("#{btag}", "#question", "#info", ""),
    ("complaint", "en"): ("#{btag}", "#customerservice", "#fail", "#notimpressed", ""),
    ("complaint", "fr"): ("#{btag}", "#serviceclient", "#déçu", "#bof", ""),
    ("crisis", "en"): ("#{btag}", "#{btag}Fail", "#boycott{btag}", "#avoid", "#scandal"),
    ("crisis", "fr"): ("#{btag}", "#scandale{btag}", "#boycott{btag}", "#honte", "#alerte"),
}

# Optional first words; each template starts with one of these 15 % of the time.
_OPENERS: Final[Mapping[tuple[Category, Lang], tuple[str, ...]]] = {
    ("praise", "en"): ("Wow!", "Ok!", "Just saying:", "PSA:", "Little shoutout:"),
    ("praise", "fr"): ("Franchement !", "Coup de cœur :", "Petit message :", "Ah !"),
    ("neutral", "en"): ("Hi!", "Quick one:", "Hey!", "Question:"),
    ("neutral", "fr"): ("Bonjour !", "Question :", "Hello !", "Petite question :"),
    ("complaint", "en"): ("Ugh.", "Seriously?", "Sigh.", "Again.", "Rant:"),
    ("complaint", "fr"): ("Pff.", "Sérieux ?", "Encore.", "Bref.", "Coup de gueule :"),
    ("crisis", "en"): ("Unreal.", "OMG.", "Update:", "URGENT:", "Thread:"),
    ("crisis", "fr"): ("URGENT :", "Sérieux ?", "Info :", "Partagez :", "Alerte :"),
    ("viral", "en"): ("Omg!", "LOL.", "Ok wow.", "This!!", "Honestly?"),
    ("viral", "fr"): ("Mdr !", "Ptdr.", "Ok.", "Trop bien !", "Incroyable !"),
}
OPENER_CHANCE: Final = 0.15
EMOJI_CHANCE: Final = 0.3
TAG_CHANCE: Final = 0.2
HANDLE_CHANCE: Final = 0.15

_COMMON_WORDS: Final[Words] = {
    ("time", "en"): (
        "this morning", "today", "yesterday", "last night", "just now", "this afternoon",
        "on Saturday", "earlier today", "tonight", "at lunch",
    ),
    ("time", "fr"): (
        "ce matin", "aujourd'hui", "hier", "hier soir", "à l'instant", "cet aprèm", "samedi",
        "tout à l'heure", "ce midi", "dimanche",
    ),
    ("who", "en"): (
        "my sister", "my mate", "my son", "my mum", "my boyfriend", "my colleague", "my dad",
        "my wife", "my flatmate", "my daughter",
    ),
    ("who", "fr"): (
        "ma sœur", "mon pote", "mon fils", "ma mère", "mon copain", "ma collègue", "mon père",
        "ma femme", "ma coloc", "ma fille",
    ),
    ("hours", "en"): ("2", "3", "4", "5", "6", "7"),
    ("hours", "fr"): ("2", "3", "4", "5", "6", "7"),
    ("minutes", "en"): ("20", "25", "30", "35", "40", "45"),
    ("minutes", "fr"): ("20", "25", "30", "35", "40", "45"),
    ("pct", "en"): ("2", "3", "4", "6", "8", "11"),
    ("pct", "fr"): ("2", "3", "4", "6", "8", "11"),
    ("hour", "en"): ("9", "10", "11", "noon", "2", "3", "4", "5"),
    ("hour", "fr"): ("9h", "10h", "11h", "midi", "14h", "15h", "16h", "17h"),
    ("date", "en"): ("12", "14", "18", "21", "24", "26"),
    ("date", "fr"): ("12", "14", "18", "21", "24", "26"),
    ("price", "en"): ("€39", "€45", "€50", "€60", "€65"),
    ("price", "fr"): ("39€", "45€", "50€", "60€", "65€"),
    ("n", "en"): ("2", "3", "4", "5"),
    ("n", "fr"): ("2", "3", "4", "5"),
    ("heroes", "en"): ("nurse", "firefighter", "teacher", "student in exam week", "carer"),
    ("heroes", "fr"): ("soignants", "pompiers", "profs", "étudiants en partiels", "aidants"),
    ("count", "en"): ("6", "8", "10", "12", "15", "20", "30"),
    ("count", "fr"): ("6", "8", "10", "12", "15", "20", "30"),
}  # fmt: skip

# Templates that fit any kind of business.
_GENERIC: Final[Bank] = {
    ("praise", "en"): (
        "Honestly {brand} never disappoints {emo}",
        "Really impressed with {brand} {time}. Great service, friendly people, no fuss {tag}",
        "Big thanks to {handle}, {who} and I had the best time {emo}",
        "Not gonna lie, {brand} has been brilliant lately {emo}",
        "10/10 would definately recommend {brand} to anyone {emo} {tag}",
        "A bit pricey but honestly {brand} is worth every penny {emo}",
    ),
    ("praise", "fr"): (
        "Jamais déçue par {brand}, toujours aussi bien {emo}",
        "Je recommande {brand} les yeux fermés ! {tag}",
        "Merci {handle}, vous êtes géniaux {emo}",
        "Trés bonne expérience avec {brand} {time}, rien a redire {emo}",
        "{brand} au top comme d'hab, merci à toute l'équipe {emo}",
        "Un peu cher mais {brand} vaut vraiment le coup {emo}",
    ),
    ("neutral", "en"): (
        "Anyone tried {brand}? {who} keeps talking about it",
        "{handle} quick question, do you have a customer service email? Asking for {who}",
        "Seeing {brand} ads everywhere {time} {emo}",
        "{who} says {brand} changed their logo, am I imagining it? {emo}",
        "{who} just started a new job at {brand}",
        "Saw a {brand} billboard on the way to work {time}",
        "Does {brand} have a student discount? Asking for {who}",
    ),
    ("neutral", "fr"): (
        "Quelqu'un a testé {brand} ? {who} m'en parle tout le temps",
        "{handle} petite question, vous avez un mail pour le service client ? C'est pour {who}",
        "Je vois des pubs {brand} partout {time} {emo}",
        "{who} dit que {brand} a changé de logo, c'est vrai ? {emo}",
        "{who} bosse chez {brand} depuis lundi",
        "Vu une affiche {brand} dans le métro {time}",
        "Il y a un tarif étudiant chez {brand} ? C'est pour {who}",
    ),
    ("complaint", "en"): (
        "{handle} still waiting for a reply to my email from last week. Poor service {emo}",
        "Getting worse evry time with {brand} tbh {emo}",
        "Customer service at {brand} is a joke and not the funny kind. Useless {tag}",
        "Disappointed with {brand} {time}, expected better {emo}",
        "Great, another {minutes} minute wait. Love that for me {brand} 🙃",
    ),
    ("complaint", "fr"): (
        "{handle} toujours aucune réponse à mon mail de la semaine dernière. Service client "
        "nul {emo}",
        "C'est de pire en pire chez {brand} {emo}",
        "Franchement déçue par {brand} {time}, dommage {emo}",
        "Génial, encore {minutes} min d'attente. Merci {brand} 🙃",
        "Service client {brand} injoignable, c'est pénible à la fin {tag}",
    ),
    ("crisis", "en"): (
        "Just read the thread about {brand}... absolutely disgusting if true {emo}",
        "How is {brand} still silent on this?? Pathetic. {tag}",
        "Unfollowing {handle}. Shameful way to treat people {emo}",
        "Everyone's talking about {brand} today and not in a good way. What a mess {tag}",
    ),
    ("crisis", "fr"): (
        "Je viens de lire le thread sur {brand}… dégoûtant si c'est vrai {emo}",
        "Toujours aucune réaction de {brand} ?? Lamentable. {tag}",
        "Honte à {brand}, traiter les gens comme ça {emo}",
        "Tout le monde parle de {brand} aujourd'hui et c'est la catastrophe {tag}",
    ),
    ("viral", "en"): (
        "Whoever runs the {brand} account deserves a raise 😂 {tag}",
        "{brand} just won the internet today {emo}",
        "Ok {handle} you've officially got a new fan, this is brilliant {emo}",
        "Can't stop smiling at this {brand} story, love it {emo} {tag}",
    ),
    ("viral", "fr"): (
        "La personne qui gère le compte {brand} mérite une augmentation 😂 {tag}",
        "{brand} a gagné internet aujourd'hui, bravo {emo}",
        "Bon {handle} vous avez une nouvelle fan, c'est génial {emo}",
        "Cette histoire {brand} me donne le sourire, j'adore {emo} {tag}",
    ),
}

_AIRLINE_WORDS: Final[Words] = {
    ("flight", "en"): ("SV214", "SV880", "SV37", "SV1102", "SV455", "SV619", "SV2031"),
    ("flight", "fr"): ("SV214", "SV880", "SV37", "SV1102", "SV455", "SV619", "SV2031"),
    ("city", "en"): ("Paris", "Lyon", "London", "Manchester", "Nice", "Bordeaux", "Edinburgh"),
    ("city", "fr"): ("Paris", "Lyon", "Nantes", "Toulouse", "Nice", "Bordeaux", "Marseille"),
    ("dest", "en"): (
        "Lisbon", "Dublin", "Rome", "Montreal", "Porto", "Barcelona", "Marrakech", "Geneva",
    ),
    ("dest", "fr"): (
        "Lisbonne", "Dublin", "Rome", "Montréal", "Porto", "Barcelone", "Marrakech", "Genève",
    ),
    ("place", "en"): (
        "at CDG", "at Orly", "in Lyon", "at Heathrow", "in Nice", "at Gatwick",
        "at Manchester airport", "at gate B32",
    ),
    ("place", "fr"): (
        "à Roissy", "à Orly", "à Lyon", "à Nice", "à Marignane", "à Toulouse", "à Nantes",
        "à Bordeaux",
    ),
    ("lost", "en"): ("phone", "kindle", "headphones", "jacket", "laptop", "kid's teddy"),
    ("lost", "fr"): ("portable", "casque", "ordi", "manteau", "doudou", "appareil photo"),
    ("staff", "en"): (
        "flight attendant", "gate agent", "purser", "check-in agent", "lady at the desk",
    ),
    ("staff", "fr"): ("l'hôtesse", "le steward", "la cheffe de cabine", "l'agent au comptoir"),
}  # fmt: skip

_AIRLINE: Final[Bank] = {
    ("praise", "en"): (
        "Smoothest trip I've had in ages with {brand}, {city} to {dest} and the crew were lovely"
        " {emo}",
        "Shoutout to the crew on {flight} {time}, so patient and kind with {who} {emo}",
        "{handle} landed 20 min early AND my bag came out first?? Love it {emo}",
        "Free upgrade to a window seat from the sweetest {staff} {place}. Thank you {brand}! {emo}",
        "Gotta say the new {brand} cabin is really comfortable, proper legroom finally {emo}",
        "Flew {brand} for the first time, great value and friendly crew. Would fly again {tag}",
        "Pilot on {flight} gave us a lovely little speech about the Alps, best flight ever {emo}",
        "Left my {lost} on the plane and {brand} sent it back within {n} days. Amazing service, "
        "thank you!!",
        "Big up to the {staff} {place}, sorted my booking in 5 min with a big smile {emo}",
    ),
    ("praise", "fr"): (
        "{city} - {dest} avec {brand} nickel, équipage adorable et à l'heure {emo}",
        "Merci à {staff} du {flight}, adorable avec {who} {emo}",
        "Franchement bonne surprise {brand} sur {city}-{dest}, sièges confortables et personnel "
        "aux petits soins",
        "Premier voyage avec {brand} et je recommande à 100% {emo}",
        "Atterrissage en douceur et 15 min d'avance, bravo {handle} {emo}",
        "Le nouveau salon {brand} {place} est vraiment top, calme et café excellent",
        "Service client {brand} efficace : remboursée en 3 jours. Merci ! {tag}",
        "J'avais laissé mon {lost} dans l'avion, {brand} me l'a renvoyé en {n} jours. Merci, c'est "
        "génial {emo}",
        "Équipage {brand} adorable et souriant, ça fait plaisir {emo}",
    ),
    ("neutral", "en"): (
        "Does anyone know if {brand} lets you take a guitar as cabin bag to {dest}?",
        "{handle} what's the baggage allowance on the basic fare to {dest}?",
        "Boarding {flight} to {dest}, see you in a few hours ✈️",
        "{brand} announces new direct route from {city} to {dest} starting in June",
        "{brand} passenger numbers up {pct}% on last year according to their latest report",
        "Anyone flown {brand} to {dest}? Thinking of booking for the summer",
        "Sitting {place} waiting for my {brand} flight to {dest}, the usual people-watching",
        "Is online check-in for {flight} open 24h or 48h before departure?",
        "{brand} or the other low-cost ones for {dest}, which one do you pick?",
        "{who} is flying {brand} to {dest} {time}, any tips for the {city} terminal?",
        "Just booked {city} to {dest} with {brand} for the Easter holidays {emo}",
    ),
    ("neutral", "fr"): (
        "Quelqu'un sait si {brand} accepte les poussettes en cabine pour {dest} ?",
        "{handle} c'est combien le bagage en soute pour {dest} ?",
        "Embarquement {place} pour {dest}, à tout à l'heure ✈️",
        "{brand} ouvre une ligne directe {city}-{dest} dès juin",
        "En route pour {dest} avec {brand}, {flight}",
        "L'enregistrement en ligne du {flight} ouvre 24h ou 48h avant le départ ?",
        "Vous prenez quoi pour {dest}, {brand} ou une autre compagnie ?",
        "{brand} annonce une hausse de {pct}% du nombre de passagers sur un an",
        "Quelqu'un a déjà pris {brand} pour {dest} ? Je regarde pour cet été",
        "{who} part à {dest} avec {brand} {time}, c'est quel terminal {place} ?",
        "Billets {city}-{dest} pris chez {brand} pour les vacances de Pâques {emo}",
    ),
    ("complaint", "en"): (
        "{flight} delayed again. {hours} hours stuck at the gate with zero info. Annoying as "
        "always {handle} {emo}",
        "{handle} charged me {price} for a bag that fits in the sizer. Ridiculous",
        "Why is the {brand} app so bad?? Crashed twice during check-in {emo}",
        "The {staff} {place} was so rude to an elderly couple, really not ok {brand}",
        "Seat broken, screen dead, coffee cold. Poor show {brand} {emo}",
        "Been on hold with {brand} customer service for {hours} hours now. Useless {emo}",
        "Paid for priority boarding on {flight} and still waited in the same queue. What a waste "
        "{handle}",
        "Still waiting on my refund from {brand} for a flight cancelled in January. Terrible "
        "customer service {tag}",
        "Delayed {hours}h {place}, no food vouchers, nobody around. Disappointed with {brand} tbh",
    ),
    ("complaint", "fr"): (
        "Encore {hours}h de retard sur le {flight}, aucune info, personne au comptoir. Pénible "
        "{emo}",
        "{price} le bagage cabine alors qu'il rentre dans le gabarit… abusé {brand}",
        "L'appli {brand} plante à chaque enregistrement, c'est nul {emo}",
        "Hôtesse très désagréable {place}, on n'est pas du bétail {handle}",
        "{hours}h d'attente au téléphone avec le service client {brand}. Inadmissible.",
        "Toujours pas remboursée pour mon vol annulé de janvier. Lamentable {brand} {tag}",
        "Siège cassé, écran en panne, café froid. Décevant {brand} {emo}",
        "Embarquement prioritaire payé sur le {flight} et on attend dans la même file que tout le "
        "monde. "
        "Arnaque {handle}",
        "Retard de {hours}h {place} sans un mot d'excuse. Franchement déçue par {brand} {emo}",
    ),
    ("crisis", "en"): (
        "{brand} just CANCELLED every flight out of {city}?? Thousands of us stranded, no "
        "hotel, no info. This is a disgrace {emo} {tag}",
        "Been {place} for {hours} hours. {flight} cancelled, rebooked, cancelled AGAIN. "
        "Nobody from {brand} answering. Absolute nightmare",
        "My bag is lost, {who}'s medication was in it, and {handle} has ignored me for 2 days. "
        "Disgusting.",
        "Hundreds of bags piled up {place} and {brand} staff just shrug. Worst airline in "
        "Europe {emo}",
        "Stranded {place} with two kids and {brand} tells us to 'check the app'. The app is "
        "down. Shameful",
        "Is {brand} going bust or what?? Every flight on the board is cancelled {emo}",
        "Cancelled flight, lost luggage, zero compensation. Avoid {brand} at all costs!! {tag}",
        "{handle} 400 people sleeping on the floor {place} and not one {brand} rep in sight. "
        "Appalling",
        "Watched a {brand} {staff} tell a crying pensioner to go away. Horrible. {tag}",
        "{brand} chaos {place}: {count} hour queues, lost bags, furious passengers everywhere "
        "{emo}",
        "WORST day ever thanks to {brand}. Stuck {place}, luggage gone, no refund, no "
        "apology. Furious {emo}",
    ),
    ("crisis", "fr"): (
        "{brand} annule TOUS les vols au départ de {city} et aucune info ! Des milliers de "
        "passagers bloqués, c'est honteux {emo}",
        "Ça fait {hours}h qu'on est coincés {place}. {flight} annulé, personne de {brand} pour "
        "répondre. Horrible {emo}",
        "Valise perdue depuis 3 jours, les médicaments de {who} dedans, et {handle} ne "
        "répond pas. Scandaleux.",
        "Des centaines de valises entassées {place} et le personnel {brand} s'en fiche. Honte à "
        "vous {emo}",
        "Coincés {place} avec deux enfants, on nous dit de « regarder l'appli ». L'appli est en "
        "panne. Inadmissible",
        "{brand} c'est le chaos total aujourd'hui, tous mes vols annulés, aucun remboursement. "
        "Je suis furieuse {emo}",
        "400 personnes qui dorment par terre {place} et aucun agent {brand}. Lamentable {emo}",
        "Scandale {brand} : passagers abandonnés {place}, bagages perdus, service client "
        "injoignable {tag}",
        "Vol annulé, bagage perdu, zéro compensation. À fuir, {brand} c'est une honte !! {tag}",
        "Journée cauchemar avec {brand} : {count}h de queue {place}, valises perdues, des "
        "passagers en colère partout {emo}",
        "PIRE compagnie. Bloquée {place} depuis hier, ma valise a disparu et {brand} s'en moque. "
        "Honteux {emo}",
    ),
    ("viral", "en"): (
        "The {brand} pilot who sang happy birthday to a 90 year old passenger has me smiling all"
        " day {emo}",
        "Ok {brand}'s crew dancing at the gate is the best thing on my feed today {emo}",
        "{brand} flew a kid's lost teddy back to {dest} with its own boarding pass 😂 love this "
        "airline",
        "That {brand} captain's joke announcement on {flight} is hilarious 😂 {tag}",
        "{brand} crew throwing a surprise party for a couple's 60th anniversary mid-flight, so "
        "sweet {emo}",
        "Best airline ad of the year goes to {brand}, I'm obsessed {emo}",
    ),
    ("viral", "fr"): (
        "Le pilote {brand} qui chante joyeux anniversaire à une passagère de 90 ans, trop "
        "mignon {emo}",
        "L'équipage {brand} qui danse à la porte d'embarquement, meilleure vidéo de la journée "
        "{emo}",
        "{brand} a renvoyé à {dest} le doudou perdu d'une petite fille avec sa propre carte "
        "d'embarquement 😂 j'adore",
        "L'annonce du commandant {brand} sur le {flight} 😂 génial {tag}",
        "L'équipage {brand} qui fête les 60 ans de mariage d'un couple en plein vol, trop "
        "beau {emo}",
        "Meilleure pub de l'année pour {brand}, j'adore {emo}",
    ),
}

_FOOD_WORDS: Final[Words] = {
    ("product", "en"): (
        "flat white", "matcha latte", "cinnamon roll", "banana bread", "chai latte", "cold brew",
        "croque monsieur", "lemon cake", "cookie", "cappuccino",
    ),
    ("product", "fr"): (
        "le flat white", "le latte à l'avoine", "le cinnamon roll", "le banana bread",
        "le chaï latte", "le café glacé", "le croque", "le cake citron", "le cookie",
        "le cappuccino",
    ),
    ("place", "en"): (
        "in Lyon", "near the station", "in the Marais", "in Bordeaux", "by the river",
        "on rue de Rivoli", "in Lille",
    ),
    ("place", "fr"): (
        "de Bellecour", "de la gare", "du Vieux-Port", "de Nantes", "rue Sainte-Catherine",
        "du centre", "de Lille",
    ),
    ("staff", "en"): ("barista", "girl at the till", "manager", "guy on the coffee machine"),
    ("staff", "fr"): ("la barista", "le serveur", "le gérant", "la serveuse", "le barista"),
}  # fmt: skip

_FOOD: Final[Bank] = {
    ("praise", "en"): (
        "The {product} at {brand} {place} is honestly the best in town {emo}",
        "Lovely {staff} at {brand} {place} remembered my order after two visits, love that {emo}",
        "{brand} {product} and a sunny terrace = perfect Sunday {emo}",
        "Working from {brand} {place} today, great coffee, good wifi, friendly staff. Happy days",
        "Their {product} is so good I went back for a second one {emo}",
        "Best {product} I've had in France, thank you {handle} {emo}",
        "{brand} {place} is my favourite spot, cosy and always welcoming {tag}",
    ),
    ("praise", "fr"): (
        "Franchement {product} du {brand} {place}, un délice, le meilleur de la ville {emo}",
        "Équipe adorable au {brand} {place}, {staff} se souvient de ma commande {emo}",
        "Terrasse au soleil et {product} au {brand}, le bonheur {emo}",
        "Télétravail au {brand} aujourd'hui : bon café, wifi rapide, personnel souriant {emo}",
        "J'ai tellement aimé {product} du {brand} que j'en ai repris un {emo}",
        "Meilleur café de la ville, merci {handle} {emo}",
        "Le {brand} {place} c'est mon endroit préféré, accueil toujours chaleureux {tag}",
    ),
    ("neutral", "en"): (
        "Is {brand} {place} open on Sundays?",
        "{handle} do you do oat milk in the {product} at all your shops?",
        "Meeting {who} at {brand} {place} at {hour}, come say hi",
        "{brand} is opening a new café {place} next month apparently",
        "Does {brand} have a loyalty card or is it all on the app? {emo}",
        "Grabbing a {product} at {brand} {place} before the train ☕",
        "What time does {brand} {place} close on weekdays?",
        "Is the {product} at {brand} dairy free? Asking for {who}",
        "Working from {brand} {place} {time}, anyone around?",
    ),
    ("neutral", "fr"): (
        "Le {brand} {place} est ouvert le dimanche ?",
        "{handle} vous avez du lait d'avoine pour {product} dans toutes vos boutiques ?",
        "RDV au {brand} {place} à {hour} avec {who}, passez si vous voulez",
        "Un deuxième {brand} ouvre à côté de celui {place} le mois prochain apparemment",
        "Il y a une carte de fidélité chez {brand} ou c'est que sur l'appli ? {emo}",
        "Petit café au {brand} {place} avant le train ☕",
        "Le {brand} {place} ferme à quelle heure en semaine ?",
        "Il y a du lactose dans {product} du {brand} ? C'est pour {who}",
        "En télétravail au {brand} {place} {time}, quelqu'un dans le coin ?",
    ),
    ("complaint", "en"): (
        "Waited {minutes} min for a {product} at {brand} {place}. Way too slow, ridiculous {emo}",
        "€6.50 for a lukewarm {product}. Not worth it {brand}",
        "Sticky tables, overflowing bins, dirty cups at {brand} {place}. Gross",
        "The {staff} at {brand} {place} was really rude {time}. Won't be back {emo}",
        "My {product} tasted burnt again. Disappointing {handle}",
        "{brand} app charged me twice for one coffee and still no refund. Annoying {tag}",
        "{brand} {place} got my order wrong for the third time this week. Useless {emo}",
    ),
    ("complaint", "fr"): (
        "{minutes} min d'attente pour {product} au {brand} {place}, insupportable {emo}",
        "6,50€ pour {product} tiède, franchement abusé {brand}",
        "Tables collantes et poubelles qui débordent au {brand} {place}. Dégoûtant",
        "Serveur très désagréable au {brand} {place} {time}, dommage {emo}",
        "Café encore brûlé, décevant {handle} {emo}",
        "Agaçant : l'appli {brand} m'a débité deux fois {time} et le service client ne répond pas",
        "Troisième fois cette semaine que le {brand} {place} se trompe de commande, pénible {emo}",
    ),
    ("crisis", "en"): (
        "Saw a rat run across the counter at {brand} {place} {time}. Disgusting {emo} {handle}",
        "Half my office got food poisoning after lunch at {brand} {place}. Avoid!! {emo}",
        "Health inspectors shut {brand} {place}?? Apparently the kitchen was filthy. Gross {tag}",
        "{who} has been sick all night after a {product} from {brand}. Anyone else?? {emo}",
        "There's a video going round of mould in the {brand} cake fridge. Disgusting {emo}",
        "If you ate at {brand} {place} this weekend and feel ill, report it. Several of us "
        "ended up in A&E {emo}",
        "{brand} still hasn't said anything about the cockroach video. Shameful {tag}",
        "After what I've seen today I'm done with {brand}, vile {emo}",
        "Food poisoning outbreak linked to {brand} {place}, at least {count} people sick "
        "according to local news {emo}",
        "Cockroaches in the {brand} kitchen, sick customers, and they stay open?? Scandalous {tag}",
    ),
    ("crisis", "fr"): (
        "Un rat qui traverse le comptoir au {brand} {place} {time}. Dégoûtant {emo} {handle}",
        "La moitié de mon bureau malade après le déjeuner au {brand} {place}. Fuyez, c'est "
        "dangereux {emo}",
        "Fermeture administrative du {brand} {place} ?? Il paraît que la cuisine était "
        "dégueu {tag}",
        "{who} a vomi toute la nuit après {product} du {brand}. D'autres malades ?? {emo}",
        "Vidéo qui tourne : de la moisissure dans le frigo à gâteaux du {brand}. Écœurant {emo}",
        "Si vous avez mangé au {brand} {place} ce week-end et que vous êtes malades, "
        "signalez-le. On a fini aux urgences à plusieurs {emo}",
        "Toujours aucune réaction de {brand} sur la vidéo des cafards. Honteux {tag}",
        "Intoxication alimentaire au {brand} {place} : au moins {count} personnes malades selon "
        "la presse locale {emo}",
        "Des cafards en cuisine, des clients malades et le {brand} reste ouvert ?? Scandaleux "
        "{tag}",
        "Ce que j'ai vu au {brand} {place} aujourd'hui… horrible, je suis choquée {emo}",
    ),
    ("viral", "en"): (
        "{brand} giving free coffee to every {heroes} this week ❤️ love that",
        "The {brand} barista latte art video is beautiful, 10/10 {emo}",
        "Ok the {brand} {product} everyone's posting about is actually that good {emo}",
        "{brand} adopting the stray cat that lives outside their café {place} is the cutest "
        "story {emo}",
        "{brand} surprising a regular on her 100th birthday with cake and flowers, so lovely {emo}",
        "That {brand} barista singing to the morning queue made my day 😂 {tag}",
    ),
    ("viral", "fr"): (
        "{brand} offre le café à tous les {heroes} cette semaine ❤️ j'adore",
        "La vidéo de latte art du {brand} est magnifique, 10/10 {emo}",
        "Ok {product} du {brand} dont tout le monde parle est vraiment délicieux {emo}",
        "Le {brand} qui adopte le chat errant devant son café {place}, trop mignon {emo}",
        "Le {brand} qui fête les 100 ans d'une habituée avec gâteau et fleurs, magnifique {emo}",
        "Le barista du {brand} qui chante pour la file du matin, génial 😂 {tag}",
    ),
}

_TECH_WORDS: Final[Words] = {
    ("device", "en"): ("X3", "X3 Pro", "Buds 2", "Watch S", "Tab 11", "X3 Lite"),
    ("device", "fr"): ("X3", "X3 Pro", "Buds 2", "Watch S", "Tab 11", "X3 Lite"),
    ("phone", "en"): ("X3", "X3 Pro", "X3 Lite"),
    ("phone", "fr"): ("X3", "X3 Pro", "X3 Lite"),
    ("other", "en"): ("X2", "X2 Pro", "old X1", "X2 Lite"),
    ("other", "fr"): ("X2", "X2 Pro", "vieux X1", "X2 Lite"),
    ("feature", "en"): ("camera", "battery", "screen", "night mode", "zoom", "speaker"),
    ("feature", "fr"): ("l'appareil photo", "la batterie", "l'écran", "le mode nuit", "le zoom"),
    ("place", "en"): (
        "at the London store", "on live chat", "at the Manchester store", "on the phone",
        "at the Oxford St shop",
    ),
    ("place", "fr"): (
        "à la boutique de Lyon", "au téléphone", "sur le chat", "à la boutique Opéra", "en magasin",
    ),
}  # fmt: skip

_TECH: Final[Bank] = {
    ("praise", "en"): (
        "The night mode on the {phone} is unreal, these shots came straight out of my phone {emo}",
        "Two days on one charge with my {device}. Genuinely impressed {handle}",
        "{brand} support sorted my cracked screen in 20 minutes {place}. Great service {emo}",
        "Switched to {brand} last month, best decision, the {feature} is fantastic",
        "My {device} survived a fall down the stairs, still perfect. Love it {emo}",
        "Latest {brand} update made my phone so much faster, nice work {emo}",
        "Honestly the {phone} {feature} is the best I've used, gorgeous {emo} {tag}",
        "Really happy with my {phone}, smooth, fast and the {feature} is great",
    ),
    ("praise", "fr"): (
        "Le mode nuit du {phone} est bluffant, photos magnifiques {emo}",
        "Deux jours d'autonomie avec mon {device}, franchement impressionnée et ravie {handle}",
        "SAV {brand} au top, écran changé en 20 min {place} {emo}",
        "Passée chez {brand} le mois dernier, meilleure décision de l'année {emo}",
        "Mon {device} a survécu à une chute dans l'escalier, il est parfait. Trop contente {emo}",
        "La mise à jour {brand} a vraiment boosté mon tél, bravo {emo}",
        "Les photos du {phone} sont superbes, couleurs naturelles, je recommande {tag}",
        "Très contente de mon {phone} : fluide, rapide, et {feature} au top {emo}",
    ),
    ("neutral", "en"): (
        "Is the {phone} worth it over the {other}? Genuine question",
        "{handle} when is the {device} getting the March update?",
        "{brand} to unveil a new foldable at an event on the {date}th, according to reports",
        "Anyone know if the {phone} supports eSIM in France?",
        "Unboxing my {device} {time}, will post first impressions {emo}",
        "Which case do you use for the {phone}? {who} wants one",
        "{brand} shares up {pct}% after the earnings call",
        "Trading in my {other} for a {phone}, anyone done the {brand} trade-in?",
        "How does the {feature} on the {phone} compare with the {other}?",
        "{who} got a {device} for her birthday, any apps you recommend?",
    ),
    ("neutral", "fr"): (
        "Le {phone} vaut le coup par rapport au {other} ? Vraie question",
        "{handle} la mise à jour de mars arrive quand sur le {device} ?",
        "{brand} présentera son pliable le {date}, selon la presse",
        "Le {phone} est compatible eSIM avec Free ?",
        "Déballage de mon {device} {time}, je vous dis ce que j'en pense {emo}",
        "Quelle coque vous avez pour le {phone} ? {who} en cherche une",
        "L'action {brand} prend {pct}% après la publication des résultats",
        "Je fais reprendre mon {other} pour un {phone}, quelqu'un a testé la reprise {brand} ?",
        "{feature} du {phone} par rapport au {other}, ça donne quoi ?",
        "{who} a eu un {device} pour son anniversaire, des applis à conseiller ?",
    ),
    ("complaint", "en"): (
        "My {device} battery dies by 3pm since the last update. Really annoying {handle}",
        "{brand} support has kept me waiting 3 weeks for a repair. Terrible {emo}",
        "Third charger that's failed in a year. Cheap rubbish {brand} {emo}",
        "Why does the {phone} get so hot when I use maps?? Not happy {tag}",
        "{device} screen scratched after one week in my pocket. Disappointed and annoyed with "
        "{brand}",
        "{handle} your chat agent closed my ticket {time} without fixing anything. Useless and "
        "rude",
        "The {phone} camera app crashes every time I open it. This is ridiculous {emo}",
        "Paid £900 for a phone that lags on whatsapp. Poor {brand} {emo}",
    ),
    ("complaint", "fr"): (
        "Batterie du {device} à plat à 15h depuis la dernière mise à jour. Pénible {handle}",
        "Ça fait 3 semaines que le SAV {brand} a mon téléphone. Lamentable {emo}",
        "Troisième chargeur {brand} qui lâche en un an, qualité nulle {emo}",
        "Mon {phone} chauffe dès que j'utilise le GPS, c'est agaçant {tag}",
        "Écran du {device} rayé au bout d'une semaine, déçue par {brand}",
        "{handle} votre chat a clôturé mon ticket {time} sans rien régler. Nul.",
        "L'appli photo du {phone} plante à chaque ouverture, c'est insupportable {emo}",
        "900€ pour un téléphone qui rame sur WhatsApp, honteux {brand} {emo}",
    ),
    ("crisis", "en"): (
        "{brand} Cloud has been down for {hours} hours and I can't get into my photos or my "
        "2FA codes. Unacceptable {emo}",
        "WAIT {brand} leaked customer data?? Names, addresses, phone numbers... are you kidding "
        "me {emo}",
        "Just got an email from {brand} saying my data was 'exposed in a security incident'. "
        "Furious. {tag}",
        "{handle} someone logged into my account from another country {time} and you say nothing?? "
        "This is a disaster",
        "Every {phone} in the office stuck in a boot loop after last night's update. What a "
        "mess {brand} {emo}",
        "Data breach at {brand} and they waited a week to tell us. Shameful. {tag}",
        "Can't make calls, can't unlock, {brand} servers dead for {hours} hours. Unacceptable "
        "in 2026 {emo}",
        "If you have a {brand} account change your password NOW. Leak confirmed. Scary stuff {emo}",
        "My whole family's {brand} accounts hacked after the leak, scammers already calling "
        "{who}. Horrible",
        "Bricked {device}, no cloud, no support, no answers. {brand} is a disaster right now {tag}",
    ),
    ("crisis", "fr"): (
        "{brand} Cloud en panne depuis {hours}h, impossible d'accéder à mes photos et mes codes "
        "2FA. Inadmissible {emo}",
        "ATTENDEZ {brand} a laissé fuiter les données clients ?? Noms, adresses, numéros… c'est "
        "une honte {emo}",
        "Mail de {brand} : mes données ont été « exposées lors d'un incident de sécurité ». Je "
        "suis furieuse. {tag}",
        "{handle} quelqu'un s'est connecté à mon compte depuis l'étranger {time} et vous ne dites "
        "rien ?? "
        "C'est une catastrophe",
        "Tous les {phone} du bureau bloqués au démarrage après la mise à jour de cette nuit. "
        "Quel chaos {brand} {emo}",
        "Fuite de données chez {brand} et ils ont attendu une semaine pour prévenir. Honteux. "
        "{tag}",
        "Si vous avez un compte {brand}, changez votre mot de passe MAINTENANT. Fuite confirmée, "
        "ça fait peur {emo}",
        "Comptes {brand} de toute ma famille piratés après la fuite, des arnaqueurs appellent "
        "déjà {who}. Horrible",
        "{device} bloqué, cloud en panne, SAV injoignable. {brand} c'est la catastrophe {tag}",
        "Piratage géant chez {brand}, nos données dans la nature. Scandaleux et irresponsable "
        "{emo}",
    ),
    ("viral", "en"): (
        "The {device} that survived a week at the bottom of a lake and still turned on 😂 ok "
        "{brand} I'm sold",
        "{brand}'s ad with the grandma learning to video call her grandson is so sweet, "
        "love it {emo}",
        "Whoever is running {handle} today is hilarious 😂 best replies on the timeline {tag}",
        "That {phone} night photo of the northern lights going round is stunning {emo}",
        "{brand} replacing that kid's broken {device} for free after his video went viral, class "
        "act ❤️",
        "That {device} video is incredible, I want one now {emo} {tag}",
    ),
    ("viral", "fr"): (
        "Le {device} qui a passé une semaine au fond d'un lac et qui s'allume encore 😂 bravo "
        "{brand}",
        "La pub {brand} avec la mamie qui apprend à appeler son petit-fils en visio, trop "
        "mignon {emo}",
        "Le CM de {handle} est génial aujourd'hui 😂 meilleures réponses de la journée {tag}",
        "Cette photo d'aurore boréale prise au {phone}, magnifique {emo}",
        "{brand} qui offre un {device} au petit après sa vidéo ❤️ j'adore",
        "Cette vidéo du {device} est incroyable, j'en veux un maintenant {emo} {tag}",
    ),
}

_BAKERY_WORDS: Final[Words] = {
    ("product", "en"): (
        "croissants", "chocolate croissant", "baguette", "lemon tart", "coffee éclair", "flan",
        "brioche", "almond croissant",
    ),
    ("product", "fr"): (
        "les croissants", "le pain au chocolat", "la tradition", "le flan", "les éclairs",
        "la tarte au citron", "les chouquettes", "la brioche", "le paris-brest",
    ),
    ("pastry", "en"): ("flan", "cream éclairs", "strawberry tart", "paris-brest", "custard tart"),
    ("pastry", "fr"): (
        "le flan", "les éclairs", "la tarte aux fraises", "le paris-brest", "les choux à la crème",
        "le millefeuille",
    ),
    ("staff", "en"): ("lady at the counter", "baker", "owner", "young guy at the till"),
    ("staff", "fr"): ("la boulangère", "le boulanger", "la vendeuse", "la patronne"),
    ("date2", "fr"): ("28", "29", "30"),
    ("day", "fr"): ("samedi", "dimanche", "vendredi", "demain"),
}  # fmt: skip

_BAKERY: Final[Bank] = {
    ("praise", "en"): (
        "Best croissant I've had in France, {brand} is a little gem {emo}",
        "Made a stop at {brand} on our road trip, the {product} was amazing {emo}",
        "Lovely {staff}, amazing {product}, great prices. Go! {tag}",
        "We walk 15 min every morning for the {product} at {brand}. Worth it {emo}",
        "If you're in town, {brand} is a must. Delicious {product} {emo}",
    ),
    ("praise", "fr"): (
        "Les meilleurs croissants du coin, merci a {short} {emo}",
        "{product} de chez {short}, un délice comme toujours, merci 🥐",
        "Toujours le sourire et de bons conseils chez {short}, on adore notre boulangerie {emo}",
        "Tradition croustillante et encore tiède ce matin, le bonheur {emo}",
        "Pain excellent, accueil chaleureux, 5 étoiles sans hésiter {tag}",
        "{product} de {short} pour l'anniversaire de {who}, un régal, merci {emo}",
        "Quelle chance d'avoir une boulangerie comme {brand} dans le quartier {emo}",
        "Meilleure boulangerie de la ville, bravo à toute l'équipe {short} {emo}",
    ),
    ("neutral", "en"): (
        "Does {brand} open on Mondays?",
        "Any good bakery near the market? Someone said {brand}",
        "Picked up {product} at {brand} for the picnic {emo}",
        "What time does {brand} close on Sundays? Need {product} for {who}",
        "Is {brand} the one next to the church or the one by the station?",
    ),
    ("neutral", "fr"): (
        "La {brand} est ouverte le lundi ?",
        "Quelqu'un sait à quelle heure ferme {short} le dimanche ? Il me faut {product}",
        "{brand} en congés du {date} au {date2}, pensez à prendre votre pain ailleurs",
        "Commande passée chez {short} pour {day} {emo}",
        "Ils font des sandwichs le midi chez {short} ? {emo}",
        "J'ai pris {product} chez {short} pour le pique-nique {emo}",
        "{who} passe chez {short} {time}, il vous faut quelque chose ?",
    ),
    ("complaint", "en"): (
        "Waited 20 min and they'd run out of croissants at {brand}. Disappointing {emo}",
        "The {staff} at {brand} was quite rude to us because we don't speak French {emo}",
        "Stale {product} at 9am, really poor for a bakery {emo}",
    ),
    ("complaint", "fr"): (
        "Baguette à peine cuite {time}, franchement déçue {emo}",
        "20 minutes de queue un dimanche chez {short}, pénible {emo}",
        "Croissants rassis à 9h, dommage {emo}",
        "Vendeuse désagréable ce matin chez {short}, dommage {emo}",
        "La qualité a baissé chez {short} depuis quelques mois, décevant {tag}",
        "Plus de pain à 18h chez {short}, c'est agaçant à la fin {emo}",
    ),
    ("crisis", "en"): (
        "Our whole family got sick after eating {pastry} from {brand}. Awful night {emo}",
        "Warning: several people in town ill after {brand}'s pastries. Avoid until they sort it"
        " out {emo}",
        "{who} ended up in A&E after the {pastry} from {brand}. Scary {emo}",
        "Food poisoning from {brand}? At least {count} of us sick in the local group {emo}",
    ),
    ("crisis", "fr"): (
        "Toute la famille malade depuis dimanche après {pastry} de la {brand} 🤢 vomi toute "
        "la nuit",
        "Plusieurs personnes malades après avoir mangé les pâtisseries de {short}, attention "
        "danger {emo}",
        "{who} a fini aux urgences après {pastry} de chez {short}. On est sous le choc {emo}",
        "Intoxication alimentaire à la {brand} ? On est au moins {count} dans le groupe du "
        "quartier à avoir été malades {emo}",
        "Je partage pour prévenir : {who} et moi malades depuis hier soir, seul point commun "
        "{pastry} de la {brand} {emo}",
        "Honteux que la {brand} soit encore ouverte après tous ces malades {emo}",
        "Mon fils a vomi toute la nuit après {pastry} de {short} et la boulangère nous a ri au "
        "nez. Scandaleux",
        "Grosse intoxication après {pastry} de la {brand}, {count} personnes malades d'après le "
        "groupe Facebook de la ville {emo}",
        "Vous êtes au courant pour {short} ? Des gens malades après les pâtisseries à la crème… "
        "ça fait peur {emo}",
        "Hygiène douteuse à la {brand}, des enfants malades, c'est dangereux. Fermez ! {tag}",
    ),
    ("viral", "en"): (
        "{brand} just won best baguette in the region!! So deserved {emo}",
        "The {brand} baker giving free pastries to the school kids is the sweetest thing {emo}",
    ),
    ("viral", "fr"): (
        "La {brand} élue meilleure baguette du département !! Bravo {emo}",
        "Notre boulangère qui offre le goûter aux enfants de l'école, trop mignon {emo}",
        "{short} au journal de 13h pour ses croissants, trop fiers de notre boulangerie {emo}",
        "Le boulanger de {short} qui livre le pain aux voisins âgés, magnifique initiative {emo}",
    ),
}

_THEMED: Final[Mapping[Theme, tuple[Bank, Words]]] = {
    "airline": (_AIRLINE, _AIRLINE_WORDS),
    "food": (_FOOD, _FOOD_WORDS),
    "tech": (_TECH, _TECH_WORDS),
    "bakery": (_BAKERY, _BAKERY_WORDS),
}


def templates(theme: Theme, category: Category, lang: Lang) -> tuple[str, ...]:
    """All templates usable for one theme, category and language (themed first)."""
    bank, _ = _THEMED[theme]
    return bank[category, lang] + _GENERIC[category, lang]


@dataclass(frozen=True, slots=True)
class _Ask:
    """What `render` was asked for."""

    theme: Theme
    category: Category
    lang: Lang
    brand: str
    handle: str


def render(
    rng: Random, theme: Theme, category: Category, lang: Lang, brand: str, handle: str
) -> str:
    """Pick a template and fill its slots; `brand` is the display name, `handle` its @handle."""
    ask = _Ask(theme, category, lang, brand, handle)
    pool = templates(theme, category, lang)
    template = pool[rng.randrange(len(pool))]
    values = {name: _fill(rng, name, ask) for name in _slot_names(template)}
    return _tidy(_decorate(rng, template.format_map(values), template, ask))


def _decorate(rng: Random, text: str, template: str, ask: _Ask) -> str:
    """Sometimes add what people add: an emoji, a hashtag, the brand's @handle, an opener."""
    if "{emo}" not in template and rng.random() < EMOJI_CHANCE:
        text = f"{text} {_choice(rng, _EMOJIS[ask.category])}"
    if "{tag}" not in template and rng.random() < TAG_CHANCE:
        text = f"{text} {_hashtag(rng, ask)}"
    if "{handle}" not in template and rng.random() < HANDLE_CHANCE:
        text = f"{ask.handle} {text}"
    if rng.random() < OPENER_CHANCE:
        text = f"{_choice(rng, _OPENERS[ask.category, ask.lang])} {text}"
    return text


def _fill(rng: Random, slot: str, ask: _Ask) -> str:
    """The value of one slot."""
    if slot == "brand":
        return ask.brand
    if slot == "handle":
        return ask.handle
    if slot == "short":
        return ask.brand.split()[-1]
    if slot == "emo":
        return _choice(rng, _EMOJIS[ask.category])
    if slot == "tag":
        return _hashtag(rng, ask)
    words = _THEMED[ask.theme][1].get((slot, ask.lang)) or _COMMON_WORDS[slot, ask.lang]
    return _choice(rng, words)


def _hashtag(rng: Random, ask: _Ask) -> str:
    return _choice(rng, _TAGS[ask.category, ask.lang]).format(btag=_hashtag_word(ask.brand))


def _choice(rng: Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


@cache
def _slot_names(template: str) -> tuple[str, ...]:
    """Distinct slot names of a template, in order of first use."""
    names = (field for _, field, _, _ in string.Formatter().parse(template) if field)
    return tuple(dict.fromkeys(names))


def ascii_fold(text: str) -> str:
    """`Café Colette` -> `Cafe Colette`: accents dropped, other non-ASCII characters too."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


@cache
def _hashtag_word(brand: str) -> str:
    """`Café Colette` -> `CafeColette`: what people type after `#`."""
    return "".join(ch for ch in ascii_fold(brand) if ch.isalnum())


def _tidy(text: str) -> str:
    """Collapse the spaces left by empty slots and capitalise the first letter."""
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]
