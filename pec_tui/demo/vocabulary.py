"""Italian names, places, companies and PEC domains the demo seeding draws from.

Only plain data: `pec_tui.demo.seeding` turns it into holders and mailboxes. The comuni
carry their real cadastral (Belfiore) code, used in the codice fiscale, their province and
a valid CAP; a test checks codes and provinces against python-codicefiscale's list.
"""

from __future__ import annotations

MALE_FIRST_NAMES = (
    "Marco", "Giuseppe", "Giovanni", "Antonio", "Mario", "Luca", "Francesco", "Alessandro",
    "Andrea", "Stefano", "Roberto", "Paolo", "Davide", "Matteo", "Lorenzo", "Simone", "Fabio",
    "Massimo", "Riccardo", "Salvatore", "Vincenzo", "Claudio", "Daniele", "Federico",
    "Gabriele", "Michele", "Pietro", "Tommaso", "Emanuele", "Nicola", "Alberto", "Enrico",
    "Filippo", "Giorgio", "Leonardo", "Carlo", "Sergio", "Franco", "Raffaele", "Domenico",
    "Angelo", "Gianluca", "Maurizio", "Diego", "Edoardo", "Cristian", "Ivan", "Nicolò",
    "Mattia", "Samuele",
)  # fmt: skip

FEMALE_FIRST_NAMES = (
    "Maria", "Anna", "Giulia", "Francesca", "Sara", "Laura", "Chiara", "Valentina",
    "Alessandra", "Elena", "Federica", "Silvia", "Martina", "Paola", "Roberta", "Elisa",
    "Giorgia", "Simona", "Monica", "Barbara", "Cristina", "Daniela", "Antonella", "Stefania",
    "Claudia", "Ilaria", "Serena", "Alice", "Beatrice", "Aurora", "Sofia", "Emma", "Greta",
    "Caterina", "Lucia", "Rosa", "Angela", "Teresa", "Patrizia", "Manuela", "Veronica",
    "Eleonora", "Camilla", "Noemi", "Irene", "Marta", "Giovanna", "Carla", "Rita", "Debora",
)  # fmt: skip

SURNAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
    "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi",
    "Caruso", "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile", "Martinelli",
    "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti", "Parisi",
    "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini",
    "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna", "Farina",
    "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza", "Testa", "Grassi",
    "Pellegrino", "Carbone", "Giuliani", "Benedetti", "Barone", "Rossetti", "Caputo",
    "Montanari", "Guerra", "Palmieri", "Bernardi", "Martino", "Fiore", "De Rosa", "Ferretti",
    "Bellini", "Basile", "Riva", "Donati", "Piras", "Vitali", "Battaglia", "Sartori", "Neri",
    "Costantini", "Milani", "Pagano", "Ruggiero", "Sorrentino", "D'Amico", "Orlando", "Negri",
    "Mele",
)  # fmt: skip

# (name, province sigla, cadastral code, CAP)
COMUNI = (
    ("Roma", "RM", "H501", "00184"), ("Milano", "MI", "F205", "20121"),
    ("Napoli", "NA", "F839", "80133"), ("Torino", "TO", "L219", "10121"),
    ("Palermo", "PA", "G273", "90133"), ("Genova", "GE", "D969", "16121"),
    ("Bologna", "BO", "A944", "40121"), ("Firenze", "FI", "D612", "50122"),
    ("Bari", "BA", "A662", "70121"), ("Catania", "CT", "C351", "95124"),
    ("Venezia", "VE", "L736", "30124"), ("Verona", "VR", "L781", "37121"),
    ("Messina", "ME", "F158", "98122"), ("Padova", "PD", "G224", "35122"),
    ("Trieste", "TS", "L424", "34121"), ("Brescia", "BS", "B157", "25121"),
    ("Parma", "PR", "G337", "43121"), ("Prato", "PO", "G999", "59100"),
    ("Modena", "MO", "F257", "41121"), ("Reggio nell'Emilia", "RE", "H223", "42121"),
    ("Perugia", "PG", "G478", "06121"), ("Livorno", "LI", "E625", "57123"),
    ("Ravenna", "RA", "H199", "48121"), ("Cagliari", "CA", "B354", "09124"),
    ("Foggia", "FG", "D643", "71121"), ("Rimini", "RN", "H294", "47921"),
    ("Salerno", "SA", "H703", "84121"), ("Ferrara", "FE", "D548", "44121"),
    ("Sassari", "SS", "I452", "07100"), ("Latina", "LT", "E472", "04100"),
    ("Monza", "MB", "F704", "20900"), ("Siracusa", "SR", "I754", "96100"),
    ("Pescara", "PE", "G482", "65121"), ("Bergamo", "BG", "A794", "24121"),
    ("Trento", "TN", "L378", "38122"), ("Vicenza", "VI", "L840", "36100"),
    ("Bolzano", "BZ", "A952", "39100"), ("Novara", "NO", "F952", "28100"),
    ("Piacenza", "PC", "G535", "29121"), ("Ancona", "AN", "A271", "60121"),
    ("Lecce", "LE", "E506", "73100"), ("Udine", "UD", "L483", "33100"),
    ("Aosta", "AO", "A326", "11100"), ("Potenza", "PZ", "G942", "85100"),
    ("Campobasso", "CB", "B519", "86100"), ("L'Aquila", "AQ", "A345", "67100"),
    ("Catanzaro", "CZ", "C352", "88100"), ("Trapani", "TP", "L331", "91100"),
    ("Como", "CO", "C933", "22100"), ("Lucca", "LU", "E715", "55100"),
    ("Pisa", "PI", "G702", "56125"), ("Treviso", "TV", "L407", "31100"),
    ("Varese", "VA", "L682", "21100"), ("Cosenza", "CS", "D086", "87100"),
    ("Caserta", "CE", "B963", "81100"), ("Asti", "AT", "A479", "14100"),
    ("Cuneo", "CN", "D205", "12100"), ("Pavia", "PV", "G388", "27100"),
    ("Arezzo", "AR", "A390", "52100"), ("Siena", "SI", "I726", "53100"),
    ("Taranto", "TA", "L049", "74121"), ("Brindisi", "BR", "B180", "72100"),
)  # fmt: skip

STREETS = (
    "Via Roma", "Via Garibaldi", "Via Giuseppe Mazzini", "Corso Vittorio Emanuele II",
    "Via Cavour", "Piazza della Repubblica", "Via Dante Alighieri", "Viale Europa",
    "Via Giacomo Matteotti", "Via XX Settembre", "Via Nazionale", "Via Aldo Moro",
    "Via Alessandro Manzoni", "Corso Italia", "Via San Francesco", "Via Guglielmo Marconi",
    "Via Giuseppe Verdi", "Via dei Mille", "Viale della Libertà", "Via Antonio Gramsci",
)  # fmt: skip

# Trades of sole traders and companies: (name, mailbox slug)
SECTORS = (
    ("Costruzioni", "costruzioni"), ("Impianti Elettrici", "impianti"),
    ("Trasporti", "trasporti"), ("Informatica", "informatica"), ("Consulting", "consulting"),
    ("Alimentari", "alimentari"), ("Meccanica", "meccanica"), ("Arredamenti", "arredamenti"),
    ("Servizi", "servizi"), ("Logistica", "logistica"), ("Edilizia", "edilizia"),
    ("Ristorazione", "ristorazione"), ("Tessile", "tessile"),
    ("Termoidraulica", "termoidraulica"), ("Autoriparazioni", "autoriparazioni"),
    ("Immobiliare", "immobiliare"), ("Ottica", "ottica"), ("Agricola", "agricola"),
    ("Energia", "energia"), ("Grafica", "grafica"),
)  # fmt: skip

LEGAL_FORMS = (
    ("S.r.l.", "srl"), ("S.r.l.", "srl"), ("S.r.l.", "srl"), ("S.p.A.", "spa"),
    ("S.n.c.", "snc"), ("S.a.s.", "sas"), ("S.r.l.s.", "srls"), ("Soc. Coop.", "coop"),
)  # fmt: skip

# Titles of self-employed professionals: (male, female, mailbox slug)
PROFESSIONAL_TITLES = (
    ("Avv.", "Avv.", "avv"), ("Dott.", "Dott.ssa", "dott"), ("Ing.", "Ing.", "ing"),
    ("Arch.", "Arch.", "arch"), ("Geom.", "Geom.", "geom"), ("Rag.", "Rag.", "rag"),
    ("Dott. Comm.", "Dott.ssa Comm.", "studio"), ("Notaio", "Notaio", "notaio"),
)  # fmt: skip

# Public bodies: (name template with {city}, mailbox slug template with {city})
PUBLIC_BODIES = (
    ("Comune di {city}", "comune.{city}"),
    ("Provincia di {city}", "provincia.{city}"),
    ("Camera di Commercio di {city}", "cciaa.{city}"),
    ("Azienda Sanitaria Locale di {city}", "asl.{city}"),
    ("Istituto Comprensivo Statale di {city}", "ic.{city}"),
    ("Ordine degli Avvocati di {city}", "ordineavvocati.{city}"),
    ("Ordine degli Ingegneri di {city}", "ordineingegneri.{city}"),
    ("Università degli Studi di {city}", "unistudi.{city}"),
)

# Offices of companies and public bodies, used as the first part of further mailboxes.
DEPARTMENTS = (
    "amministrazione", "fatture", "ufficio.tecnico", "personale", "commerciale", "direzione",
    "segreteria", "acquisti", "legale", "contabilita", "ragioneria", "tributi", "anagrafe",
    "protocollo", "servizi.sociali", "urp", "suap", "gare",
)  # fmt: skip

# Generic PEC providers' domains, the first ones more common.
PEC_DOMAINS = (
    "pec.it", "pec.it", "pec.it", "legalmail.it", "legalmail.it", "postacert.it", "pecmail.it",
    "cert.legalmail.it", "arubapec.it", "pec.libero.it", "casellapec.com",
)  # fmt: skip

# Ordinary e-mail providers for reference addresses of private persons.
MAIL_PROVIDERS = (
    "gmail.com", "gmail.com", "libero.it", "virgilio.it", "alice.it", "hotmail.it",
    "outlook.it", "yahoo.it", "tiscali.it", "fastwebnet.it",
)  # fmt: skip

# (name, e-mail) of the demo resellers; their partite IVA are generated.
RESELLERS = (
    ("Rete PEC Italia S.r.l.", "commerciale@retepecitalia.it"),
    ("Servizi Digitali Adriatico S.p.A.", "rivendita@serviziadriatico.it"),
    ("Studio Informatico Lombardo S.r.l.", "info@studiolombardo.it"),
    ("CertiMail Sud S.r.l.", "ordini@certimailsud.it"),
    ("Alpi Cloud S.n.c.", "pec@alpicloud.it"),
)
