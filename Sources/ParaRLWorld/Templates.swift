// The world's grammar: the knowledge facts, the slot classes and every instruction and reasoning template
// (several phrasings per step). The vocabulary and the judge's sentence check are derived from this file.

/// Facts the world-knowledge tasks rely on; each reasoning trace states the fact it uses.
enum WorldKnowledge {
    /// "paint it the colour of grass".
    static let colourThings: [(String, WorldColor)] = [
        ("grass", .green), ("a leaf", .green), ("a frog", .green),
        ("a clear sky", .blue), ("the deep sea", .blue),
        ("snow", .white), ("milk", .white),
        ("coal", .black), ("a crow", .black),
        ("a ripe banana", .yellow), ("a lemon", .yellow),
        ("a ripe tomato", .red), ("a strawberry", .red), ("a fire truck", .red),
        ("a pumpkin", .orange), ("a carrot", .orange),
        ("chocolate", .brown), ("tree bark", .brown),
        ("a bunch of grapes", .purple), ("an eggplant", .purple),
        ("a flamingo", .pink), ("bubble gum", .pink),
    ]
    /// "turn it into the shape of a wheel".
    static let shapeThings: [(String, WorldShape)] = [
        ("a wheel", .circle), ("a coin", .circle),
        ("a sticky note", .square), ("a floor tile", .square),
        ("a slice of pizza", .triangle), ("a yield sign", .triangle),
        ("a kite", .diamond), ("a baseball infield", .diamond),
        ("a plus sign", .cross), ("a first aid sign", .cross),
        ("a donut", .ring), ("a bagel", .ring),
    ]
    /// "as many as there are wheels on a bicycle" (2 to 4, so a scene never exceeds four objects).
    static let countThings: [(String, Int)] = [
        ("corners on a triangle", 3), ("sides of a triangle", 3), ("wheels on a tricycle", 3),
        ("wheels on a bicycle", 2), ("legs on a bird", 2), ("eyes on a face", 2), ("wings on a duck", 2),
        ("corners on a square", 4), ("legs on a dog", 4), ("wheels on a car", 4),
    ]
    /// Unripe fruit is green; ripe fruit has these colours.
    static let fruits: [(String, WorldColor)] = [
        ("tomato", .red), ("cherry", .red), ("strawberry", .red), ("banana", .yellow), ("lemon", .yellow),
        ("plum", .purple), ("blackberry", .black),
    ]
    /// Paint mixing.
    static let mixes: [(WorldColor, WorldColor, WorldColor)] = [
        (.red, .yellow, .orange), (.blue, .yellow, .green), (.red, .blue, .purple), (.red, .white, .pink),
        (.red, .green, .brown),
    ]
    /// Times and weather that fix the background in generation prompts.
    static let whens: [(String, Background)] = [
        ("at noon", .day), ("at midday", .day), ("in the middle of the day", .day),
        ("at midnight", .night), ("late at night", .night), ("in the middle of the night", .night),
        ("at dusk", .sunset), ("at sundown", .sunset), ("in the early evening", .sunset),
        ("during a storm", .rain), ("in a downpour", .rain),
    ]
}

/// The grammar of the world's text: slot classes and the template groups.
public enum WorldGrammar {
    static let slotClasses: [String: SlotClass] = {
        let colour = SlotClass.words(WorldColor.allCases.map(\.rawValue))
        let size = SlotClass.words(WorldSize.allCases.map(\.rawValue))
        let shape = SlotClass.words(WorldShape.allCases.map(\.rawValue))
        let position = SlotClass.words(GridPosition.names)
        return [
            "color": colour, "size": size, "shape": shape,
            "shapes": .words(WorldShape.allCases.map(\.plural)),
            "obj": .sequence([colour, size, shape]),
            "name": .sequence([colour, shape]),
            "pos": position,
            "positions": .list(position),
            "bg": .words(Background.allCases.map(\.rawValue)),
            "n": .words(numberWords),
            "steps": .words(["one cell", "two cells"]),
            "way": .words(["to the left", "to the right", "up", "down"]),
            "from": .words(["from the left", "from the right", "from above", "from below"]),
            "rel": .words(["above", "below", "to the left of", "to the right of"]),
            "row": .words(["top", "middle", "bottom"]),
            "thing": .words(WorldKnowledge.colourThings.map(\.0)),
            "shapething": .words(WorldKnowledge.shapeThings.map(\.0)),
            "countthing": .words(WorldKnowledge.countThings.map(\.0)),
            "fruit": .words(WorldKnowledge.fruits.map(\.0)),
            "when": .words(WorldKnowledge.whens.map(\.0)),
        ]
    }()

    // MARK: Reasoning steps (shared)

    static let locate = t("the {obj} is at {pos}.", "the {obj} sits at {pos}.", "i find the {obj} at {pos}.",
                          "right now the {obj} is at {pos}.")
    static let locatePair = t("the {obj} is at {pos} and the {obj2} is at {pos2}.",
                              "i see the {obj} at {pos} and the {obj2} at {pos2}.")
    static let keepOthers = t("everything else stays as it is.", "the other objects do not change.",
                              "nothing else in the scene changes.", "all other objects keep their place and colour.")
    static let keepBackground = t("the background stays {bg}.", "the sky is still {bg}.")
    static let objectsStay = t("the objects stay exactly where they are.", "the objects do not move.")
    static let becomes = t("so it becomes a {obj2} at {pos}.", "it turns into a {obj2} at {pos}.")
    static let cellRelation = t("the cell directly {rel} {pos} is {pos2}.", "directly {rel} {pos} lies {pos2}.")
    static let backgroundBecomes = t("so the background becomes {bg2}.", "the new background is {bg2}.")
    static let countFact = t("there are {n} {countthing}.", "i count {n} {countthing}.")
    static let thingColour = t("{thing} is {color}.", "everyone knows that {thing} is {color}.")
    static let shapeFact = t("{shapething} has the shape of a {shape}.", "{shapething} looks like a {shape}.")
    static let whenBackground = t("{when} the background is {bg}.", "the background is {bg} {when}.")

    // MARK: Spatial

    static let moveBy = t("move the {name} {steps} {way}.", "shift the {name} {steps} {way}.",
                          "slide the {name} {steps} {way}.")
    static let moveByResult = t("moving it {steps} {way} brings it to {pos2}.", "after {steps} {way} it lands at {pos2}.",
                                "going {steps} {way} from {pos} reaches {pos2}.")
    static let place = t("put the {name} directly {rel} the {name2}.",
                         "move the {name} so that it is directly {rel} the {name2}.",
                         "place the {name} right {rel} the {name2}.")
    static let moveTo = t("so the {obj} moves from {pos} to {pos2}.", "the {obj} leaves {pos} and goes to {pos2}.")
    static let swap = t("swap the {name} and the {name2}.", "let the {name} and the {name2} trade places.",
                        "exchange the positions of the {name} and the {name2}.")
    static let swapResult = t("after the swap the {obj} is at {pos2} and the {obj2} is at {pos}.",
                              "so the {obj} goes to {pos2} while the {obj2} goes to {pos}.")
    static let mirrorSides = t("mirror the whole scene from left to right.", "flip the picture from left to right.")
    static let mirrorRows = t("mirror the whole scene from top to bottom.", "flip the picture from top to bottom.")
    static let mirrorSidesRule = t("a mirror swaps the left and right columns.", "each object keeps its row but changes sides.")
    static let mirrorRowsRule = t("the flip swaps the top and bottom rows.", "each object keeps its column but changes rows.")
    static let mirrorMove = t("the {obj} goes from {pos} to {pos2}.")
    static let mirrorStay = t("the {obj} stays at {pos}.")

    // MARK: Temporal

    static let twelveHours = t("show the same scene twelve hours later.", "show this place half a day later.")
    static let afterSunset = t("show the scene after the sun has set.", "show this place once the sun is gone.")
    static let earlyEvening = t("show the scene in the early evening.", "show how this place looks at dusk.")
    static let nextMorning = t("show the scene the next morning.", "show this place when morning comes.")
    static let stormClears = t("show the scene after the storm clears up.", "show this place once the rain stops.")
    static let backgroundNow = t("the background is {bg} now.", "right now the background is {bg}.")
    static let twelveHoursRule = t("twelve hours after {bg} comes {bg2}.")
    static let afterSunsetRule = t("after the sun sets the sky turns to night.", "once the sun is gone it is night.")
    static let earlyEveningRule = t("the early evening brings a sunset.", "at dusk the sun is setting.")
    static let nextMorningRule = t("the next morning it is day again.", "morning brings daylight.")
    static let stormClearsRule = t("when the rain stops the sky is day again.", "after a storm the day returns.")

    static let fall = t("the {name} is dropped. show it after it lands.",
                        "let go of the {name} and show where it comes to rest.",
                        "the {name} loses its support. show the scene after it falls.")
    static let fallRule = t("dropped things fall straight down.", "it falls down its column.", "gravity pulls it straight down.")
    static let landGround = t("it lands on the bottom row at {pos2}.", "it comes to rest on the ground at {pos2}.")
    static let landOn = t("it lands at {pos2}, on top of the {obj3}.", "it stops at {pos2} because the {obj3} is below.")
    static let rise = t("the {name} is a helium balloon. show it after it is let go.",
                        "the {name} is a balloon that someone releases. show where it ends up.")
    static let riseRule = t("a helium balloon floats straight up.", "released balloons rise up their column.")
    static let riseTop = t("it rises to the top row at {pos2}.", "it floats up until it reaches {pos2}.")
    static let riseUnder = t("it stops at {pos2}, just under the {obj3}.", "the {obj3} above stops it at {pos2}.")
    static let grow = t("the {name} is a young seedling. show it after a summer of growth.",
                        "the {name} is a sprout. show how it looks a few months later.")
    static let growRule = t("a seedling grows bigger over time.", "after months of growth a young plant is large.")
    static let ripen = t("the {name} is an unripe {fruit}. show it once it is ripe.",
                         "the {name} is a {fruit} that is not ripe yet. show it a week later.")
    static let ripenRule = t("a ripe {fruit} is {color}.", "when a {fruit} ripens it turns {color}.")

    // MARK: Causal

    static let push = t("someone pushes the {name} {from}.", "the {name} gets a push {from}.",
                        "a gust of wind hits the {name} {from}.")
    static let pushRule = t("a push {from} moves it one cell {way}.", "pushed {from}, it slides one cell {way}.")
    static let endsAt = t("it ends up at {pos2}.", "its new place is {pos2}.")
    static let roll = t("the {name} is kicked and rolls {way} until something stops it.",
                        "kick the {name} so that it rolls {way} as far as it can.")
    static let rollStart = t("it rolls {way} from {pos}.", "the kick sends it {way}.")
    static let rollStopObject = t("it stops at {pos2} because the {obj3} blocks the way.",
                                  "the {obj3} stops it at {pos2}.")
    static let rollStopEdge = t("it stops at {pos2} at the edge of the grid.", "the edge of the grid stops it at {pos2}.")
    static let melt = t("the {name} is a block of ice. show it after a hot afternoon in the sun.",
                        "the {name} is made of ice and the heater is on. show it an hour later.")
    static let meltRule = t("heat melts ice into water.", "ice turns to water when it gets warm.")
    static let puddle = t("the water forms a small blue circle at {pos}.", "a small blue circle of water is left at {pos}.")
    static let spill = t("the {name} is a can of paint that tips over onto the object below it.",
                         "the {name} is a paint pot that spills onto whatever is directly under it.")
    static let spillRule = t("the can holds {color} paint.", "the paint inside is {color}.")
    static let below = t("directly below it is the {obj2} at {pos2}.", "under it sits the {obj2} at {pos2}.")
    static let painted = t("the spilled paint turns it into a {obj3}.", "the paint makes it a {obj3}.")
    static let rain = t("dark clouds roll in and it begins to pour.", "a heavy storm arrives over the scene.")
    static let rainRule = t("pouring rain fills the sky with grey clouds.", "a storm makes the sky wet and grey.")

    // MARK: World knowledge

    static let colourOf = t("paint the {name} the colour of {thing}.", "make the {name} the same colour as {thing}.",
                            "colour the {name} like {thing}.")
    static let countAdd = t("add as many {size} {color} {shapes} as there are {countthing}, filling empty cells from the top left.",
                            "put in one {size} {color} {shape} for each of the {countthing}, using the first empty cells in reading order.")
    static let addCount = t("so i add {n} {color} {size} {shapes}.", "that means {n} new {color} {size} {shapes}.")
    static let fillCells = t("the first empty cells in reading order are {positions}.", "they go to {positions}.")
    static let shapeOf = t("turn the {name} into the shape of {shapething}.", "reshape the {name} so it looks like {shapething}.")
    static let mix = t("paint the {name} with the colour you get by mixing {color} and {color2}.",
                       "recolour the {name} using {color} paint mixed with {color2} paint.")
    static let mixRule = t("mixing {color} and {color2} paint gives {color3}.", "{color} and {color2} together make {color3}.")

    // MARK: General

    static let addRelative = t("add a {size} {color} {shape} directly {rel} the {name2}.",
                               "draw a {size} {color} {shape} right {rel} the {name2}.")
    static let placed = t("a {obj2} goes at {pos2}.", "the new {obj2} is placed at {pos2}.")
    static let removeRelative = t("remove the object directly {rel} the {name}.", "take away whatever is right {rel} the {name}.")
    static let removed = t("that cell holds the {obj2}, so it is removed.", "the {obj2} at {pos2} disappears.")
    static let removeColour = t("remove every {color} object.", "take away all the {color} things.")
    static let removeColourRule = t("all {color} objects must go.", "only the {color} objects are removed.")
    static let removedEach = t("the {obj} at {pos} is removed.")
    static let replace = t("replace the {name} with a {size} {color} {shape}.", "swap out the {name} for a {size} {color} {shape}.")
    static let takesPlace = t("a {obj2} takes its place at {pos}.", "in its cell at {pos} now stands a {obj2}.")
    static let recolour = t("give the {name} the same colour as the {name2}.", "make the {name} match the colour of the {name2}.")
    static let isColour = t("the {obj2} is {color}.", "the colour of the {obj2} is {color}.")

    // MARK: Generation

    static let generateCount = t("draw as many {size} {color} {shapes} as there are {countthing} in the {row} row from the left, {when}.",
                                 "show {size} {color} {shapes}, one for each of the {countthing}, lined up in the {row} row from the left, {when}.")
    static let drawCount = t("so i draw {n} {color} {size} {shapes}.", "that makes {n} {color} {size} {shapes}.")
    static let rowCells = t("from the left the {row} row holds {positions}.", "they fill {positions}.")
    static let generateTwo = t("draw a {size} {color} {shape} at {pos} and a {size2} {color2} {shape2} directly {rel} it, {when}.",
                               "show a {size} {color} {shape} at {pos} with a {size2} {color2} {shape2} right {rel} it, {when}.")
    static let generateThree = t("draw a {size} {color} {shape} at {pos}, a {size2} {color2} {shape2} directly {rel} it and a {size3} {color3} {shape3} directly {rel2} the {shape2}, {when}.")
    static let firstAt = t("the {obj} goes at {pos}.", "first comes the {obj} at {pos}.")
    static let thenAt = t("so the {obj2} goes at {pos2}.", "that is where the {obj2} belongs.")
    static let generateKnowledge = t("draw a {size} {shape} the colour of {thing} at {pos} and a {size2} {color2} object shaped like {shapething} at {pos2}, {when}.",
                                     "show a {size} {shape} coloured like {thing} at {pos}, plus a {size2} {color2} thing in the shape of {shapething} at {pos2}, {when}.")

    /// Every reasoning template: a sentence of a reasoning trace other than the final statement must match one.
    static let reasoning: [[Template]] = [
        locate, locatePair, keepOthers, keepBackground, objectsStay, becomes, cellRelation, backgroundBecomes,
        countFact, thingColour, shapeFact, whenBackground,
        moveByResult, moveTo, swapResult, mirrorSidesRule, mirrorRowsRule, mirrorMove, mirrorStay,
        backgroundNow, twelveHoursRule, afterSunsetRule, earlyEveningRule, nextMorningRule, stormClearsRule,
        fallRule, landGround, landOn, riseRule, riseTop, riseUnder, growRule, ripenRule,
        pushRule, endsAt, rollStart, rollStopObject, rollStopEdge, meltRule, puddle, spillRule, below, painted, rainRule,
        addCount, fillCells, mixRule,
        placed, removed, removeColourRule, removedEach, takesPlace, isColour,
        drawCount, rowCells, firstAt, thenAt,
    ]

    /// Every instruction template.
    static let instructions: [[Template]] = [
        moveBy, place, swap, mirrorSides, mirrorRows,
        twelveHours, afterSunset, earlyEvening, nextMorning, stormClears, fall, rise, grow, ripen,
        push, roll, melt, spill, rain,
        colourOf, countAdd, shapeOf, mix,
        addRelative, removeRelative, removeColour, replace, recolour,
        generateCount, generateTwo, generateThree, generateKnowledge,
    ]

    private static let flatReasoning: [Template] = reasoning.flatMap { $0 }

    /// Every token the world can emit: punctuation first, then words in byte order.
    public static let vocabulary: [String] = {
        var words = Set<String>()
        for group in reasoning + instructions {
            for template in group {
                for piece in template.pieces {
                    switch piece {
                    case .word(let w): words.insert(w)
                    case .slot(_, let kind): words.formUnion(slotClasses[kind]?.vocabulary ?? [])
                    }
                }
            }
        }
        for c in slotClasses.values { words.formUnion(c.vocabulary) }
        // The canonical statement's own words.
        words.formUnion(["final", "scene", ":", "a", "an", "at", "nothing", ",", ";", "background", "."])
        let punctuation = words.filter { $0.count == 1 && !($0.first?.isLetter ?? false) }.sorted()
        let rest = words.subtracting(punctuation).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        return punctuation + rest
    }()

    /// Whether a sentence (tokens, lowercased) is one of the grammar's reasoning sentences.
    static func isReasoningSentence(_ tokens: [String]) -> Bool {
        let t = normalized(tokens)
        return flatReasoning.contains { $0.matches(t, classes: slotClasses) }
    }

    private static func t(_ texts: String...) -> [Template] { texts.map(Template.init) }
}
